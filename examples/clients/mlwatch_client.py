#!/usr/bin/env python3
"""Send prediction events and late labels to mlwatch-agent.

Standard library only (urllib, socket, json): copy this file next to your model server.

    from mlwatch_client import HttpClient, DatagramClient

    agent = HttpClient("http://127.0.0.1:7071")
    agent.send_events([{"model": "fraud", "id": "req-1", "latency_ms": 12.5,
                        "features": {"amount": 129.5, "country": "DE"},
                        "prediction": "fraud", "score": 0.93}])
    agent.send_labels([{"model": "fraud", "id": "req-1", "label": "legit"}])

    # Fire and forget: never blocks the request path; a full socket drops (and counts).
    dgram = DatagramClient("unix:/run/mlwatch-agent/events.sock")  # or "udp://127.0.0.1:7073"
    dgram.send_events(events)

Which input to use:
  HTTP      acknowledged (202 {"accepted": N, "sampled": K}); all-or-nothing per request;
            batch 100-1000 events per request (JSON array or NDJSON). Labels go here.
  datagram  no acknowledgement and no back-pressure; a send never blocks. For request
            paths that must not wait on monitoring. Events only.

As a command, it sends synthetic fraud-model events (a smoke test for a new deployment):

    mlwatch_client.py --http http://127.0.0.1:7071 --count 1000 --labels 0.5
    mlwatch_client.py --http https://agent.example:7071 --cacert ca.pem --token-file tok
    mlwatch_client.py --udp 127.0.0.1:7073 --count 1000
    mlwatch_client.py --unix /run/mlwatch-agent/events.sock --count 1000

and prints one JSON line with what was sent and what the agent answered. Exit status: 0 when
every event was accepted (HTTP) or handed to the kernel (datagram), 1 otherwise, 2 on usage.
"""

import argparse
import errno
import json
import math
import os
import random
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request

__all__ = ["HttpClient", "DatagramClient", "AgentError", "synthetic_events"]


class AgentError(Exception):
    """The agent refused a request. status is the HTTP status; body its JSON answer (a dict,
    e.g. {"error": "...", "index": 3, "field": "features.amount"} for a 400)."""

    def __init__(self, status, body):
        Exception.__init__(self, "agent answered %d: %s" % (status, json.dumps(body)))
        self.status = status
        self.body = body


def _dumps(obj):
    # Compact, and allow_nan=False: NaN/Infinity are not JSON and the agent rejects them.
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


class HttpClient(object):
    """POSTs to the agent's HTTP input. Thread-safe (no shared state besides settings).

    base_url: "http://127.0.0.1:7071" (a trailing /v1/events is tolerated).
    token:    sent as "Authorization: Bearer <token>": the agent checks it when started with
              http_token_file (401 otherwise); an authenticating proxy in front of the agent
              can use it too.
    retries:  how often to retry on 503 (agent overloaded; Retry-After honoured) or on a
              connection error. 400/413/401 and certificate errors are never retried: they
              would fail again.
    cafile:   for an https:// agent (http_tls_cert): the CA that signed its certificate
              (default: the system's CAs). The certificate must name the host of base_url.
    certfile, keyfile: a client certificate (PEM) when the agent asks for one (http_tls_ca).
    """

    def __init__(self, base_url="http://127.0.0.1:7071", token=None, timeout=5.0, retries=3,
                 cafile=None, certfile=None, keyfile=None):
        url = base_url.rstrip("/")
        for suffix in ("/v1/events", "/v1/labels"):
            if url.endswith(suffix):
                url = url[: -len(suffix)]
        self.base_url = url
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.context = None
        if url.startswith("https://"):
            self.context = ssl.create_default_context(cafile=cafile)
            if certfile:
                self.context.load_cert_chain(certfile, keyfile)
        elif cafile or certfile:
            raise ValueError("cafile/certfile need an https:// URL, got %r" % base_url)

    def send_events(self, events, ndjson=False):
        """Sends a list of event dicts in one request. Returns the agent's answer,
        {"accepted": N, "sampled": K}. Raises AgentError or OSError."""
        return self._post("/v1/events", events, ndjson)

    def send_labels(self, labels, ndjson=False):
        """Sends late labels: dicts {"model", "id", "label"[, "ts"]}."""
        return self._post("/v1/labels", labels, ndjson)

    def healthy(self):
        """True when GET /healthz answers 200."""
        try:
            with urllib.request.urlopen(self.base_url + "/healthz", timeout=self.timeout,
                                        context=self.context) as r:
                return r.status == 200
        except (OSError, ValueError):
            return False

    def _post(self, path, items, ndjson):
        if ndjson:
            body = "".join(_dumps(i) + "\n" for i in items).encode("utf-8")
            ctype = "application/x-ndjson"
        else:
            body = _dumps(list(items)).encode("utf-8")
            ctype = "application/json"
        headers = {"Content-Type": ctype}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        attempt = 0
        while True:
            req = urllib.request.Request(self.base_url + path, data=body, headers=headers,
                                         method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout,
                                            context=self.context) as r:
                    return _json_or_text(r.read())
            except urllib.error.HTTPError as e:
                answer = _json_or_text(e.read())
                if e.code != 503 or attempt >= self.retries:
                    raise AgentError(e.code, answer)
                delay = _retry_after(e.headers.get("Retry-After"), attempt)
            except (urllib.error.URLError, OSError) as e:
                if attempt >= self.retries or isinstance(getattr(e, "reason", e), ssl.SSLError):
                    raise
                delay = min(0.2 * (2 ** attempt), 5.0)
            attempt += 1
            time.sleep(delay)


def _json_or_text(raw):
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        return {"error": raw.decode("utf-8", "replace")}


def _retry_after(value, attempt):
    try:
        return min(max(float(value), 0.0), 30.0)
    except (TypeError, ValueError):
        return min(0.2 * (2 ** attempt), 5.0)


class DatagramClient(object):
    """Sends events as datagrams: "unix:/path/to.sock" or "udp://127.0.0.1:7073".

    Sends never block: when the socket buffer is full (the agent is behind) the datagram is
    dropped and counted in self.dropped, so monitoring can never slow the model server.
    Several events are packed per datagram as NDJSON, up to max_datagram bytes.
    """

    def __init__(self, target, max_datagram=8192):
        self.max_datagram = max_datagram
        self.sent = 0      # events handed to the kernel
        self.dropped = 0   # events dropped because the socket would block or was refused
        if target.startswith("unix:"):
            self.addr = target[len("unix:"):]
            if self.addr.startswith("//"):
                self.addr = self.addr[2:]
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        elif target.startswith("udp://"):
            host, _, port = target[len("udp://"):].rpartition(":")
            host = host.strip("[]")
            if not host or not port.isdigit():
                raise ValueError("expected udp://HOST:PORT, got %r" % target)
            info = socket.getaddrinfo(host, int(port), 0, socket.SOCK_DGRAM)[0]
            self.addr = info[4]
            self.sock = socket.socket(info[0], socket.SOCK_DGRAM)
        else:
            raise ValueError("expected unix:PATH or udp://HOST:PORT, got %r" % target)
        self.sock.setblocking(False)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_events(self, events):
        """Packs events into datagrams and sends them. Returns how many events were
        handed to the kernel (the rest were dropped; see self.dropped)."""
        before = self.sent
        buf, n = [], 0
        size = 0
        for ev in events:
            line = (_dumps(ev) + "\n").encode("utf-8")
            if len(line) > self.max_datagram:
                self.dropped += 1  # too large for one datagram: use HTTP for such events
                continue
            if size + len(line) > self.max_datagram:
                self._send(b"".join(buf), n)
                buf, n, size = [], 0, 0
            buf.append(line)
            n += 1
            size += len(line)
        if buf:
            self._send(b"".join(buf), n)
        return self.sent - before

    def _send(self, payload, n):
        try:
            self.sock.sendto(payload, self.addr)
            self.sent += n
        except OSError as e:
            # EAGAIN: buffer full; ENOENT/ECONNREFUSED: agent not listening. Never raise
            # into the request path: count and move on.
            if e.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS, errno.ENOENT,
                               errno.ECONNREFUSED):
                raise
            self.dropped += n


# ---- synthetic traffic for the command line ------------------------------------------------

_COUNTRIES = ["DE", "FR", "US", "GB", "NL", "ES", "IT", "PL"]
_DEVICES = ["ios", "android", "web"]


def synthetic_events(model, count, rng=None, run_id=None):
    """count events of a fraud-style classifier: numeric and categorical features, a
    calibrated score, a request id (unique per run) for joining late labels. Returns a list
    of (event, true_label)."""
    rng = rng or random.Random()
    run_id = run_id or "%08x" % rng.getrandbits(32)
    out = []
    now = time.time()
    for i in range(count):
        amount = round(math.exp(rng.gauss(4.0, 1.0)), 2)
        age = None if rng.random() < 0.02 else rng.randint(18, 90)
        country = rng.choice(_COUNTRIES)
        risk = -4.0 + 0.6 * math.log(amount) - 0.01 * (age or 40) + (0.8 if country == "US" else 0)
        p = 1.0 / (1.0 + math.exp(-risk))
        truth = "fraud" if rng.random() < p else "legit"
        pred = "fraud" if p >= 0.5 else "legit"
        ev = {
            "model": model,
            "version": "v1",
            "id": "req-%s-%d" % (run_id, i),
            "ts": round(now, 3),
            "latency_ms": round(rng.lognormvariate(2.3, 0.4), 3),
            "error": rng.random() < 0.001,
            "features": {
                "amount": amount,
                "age": age,
                "country": country,
                "device": rng.choice(_DEVICES),
                "new_account": rng.random() < 0.1,
                "hour": rng.randint(0, 23),
            },
            "prediction": pred,
            "score": round(p if pred == "fraud" else 1 - p, 4),
        }
        out.append((ev, truth))
    return out


def _chunks(seq, n):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Send synthetic prediction events (and late labels) to mlwatch-agent.")
    ap.add_argument("--http", metavar="URL", help="agent HTTP input, e.g. http://127.0.0.1:7071")
    ap.add_argument("--udp", metavar="HOST:PORT", help="agent datagram input over UDP")
    ap.add_argument("--unix", metavar="PATH", help="agent datagram input on a unix socket")
    ap.add_argument("--count", type=int, default=100, help="events per input (default 100)")
    ap.add_argument("--model", default="fraud", help="model name (default fraud)")
    ap.add_argument("--batch", type=int, default=500, help="events per HTTP request (default 500)")
    ap.add_argument("--ndjson", action="store_true", help="send HTTP bodies as NDJSON")
    ap.add_argument("--labels", type=float, default=0.0, metavar="SHARE",
                    help="share of events whose label is then sent over HTTP (default 0)")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="events per second (default 0: as fast as possible)")
    ap.add_argument("--token-file", metavar="FILE",
                    help="file whose first line is the bearer token (the agent's http_token_file)")
    ap.add_argument("--cacert", metavar="FILE",
                    help="for an https:// agent: the CA that signed its certificate")
    ap.add_argument("--cert", metavar="FILE", help="client certificate (PEM) for an https:// agent")
    ap.add_argument("--key", metavar="FILE", help="the client certificate's key (PEM)")
    ap.add_argument("--seed", type=int, help="random seed, for repeatable traffic")
    args = ap.parse_args(argv)

    if not (args.http or args.udp or args.unix):
        ap.error("give at least one of --http, --udp, --unix")
    if args.count < 0 or args.batch < 1 or not 0.0 <= args.labels <= 1.0 or args.rate < 0:
        ap.error("--count >= 0, --batch >= 1, --labels in [0, 1], --rate >= 0")
    if args.labels > 0 and not args.http:
        ap.error("--labels needs --http (labels are not sent as datagrams)")
    token = None
    if args.token_file:
        with open(args.token_file) as f:
            token = f.readline().strip()

    rng = random.Random(args.seed)
    report = {"model": args.model}
    ok = True
    # Send in slices so that --rate paces the traffic.
    step = args.batch if args.rate == 0 else max(1, min(args.batch, int(args.rate)))

    def paced(pairs, send):
        t0 = time.time()
        done = 0
        for chunk in _chunks(pairs, step):
            now = round(time.time(), 3)
            for ev, _ in chunk:
                ev["ts"] = now  # the time of the prediction, i.e. of sending here
            send([ev for ev, _ in chunk])
            done += len(chunk)
            if args.rate > 0:
                ahead = done / args.rate - (time.time() - t0)
                if ahead > 0:
                    time.sleep(ahead)

    if args.http:
        try:
            client = HttpClient(args.http, token=token, cafile=args.cacert, certfile=args.cert,
                                keyfile=args.key)
        except (OSError, ValueError) as e:
            ap.error(str(e))
        pairs = synthetic_events(args.model, args.count, rng)
        res = {"sent": 0, "accepted": 0, "sampled": 0}

        def send_http(events):
            res["sent"] += len(events)
            try:
                ans = client.send_events(events, ndjson=args.ndjson)
                res["accepted"] += int(ans.get("accepted", 0))
                res["sampled"] += int(ans.get("sampled", 0))
            except AgentError as e:
                res.setdefault("errors", []).append({"status": e.status, "body": e.body})

        try:
            paced(pairs, send_http)
            labelled = [{"model": ev["model"], "id": ev["id"], "label": truth}
                        for ev, truth in pairs if rng.random() < args.labels]
            if labelled:
                res["labels_sent"] = len(labelled)
                res["labels_accepted"] = 0
                for chunk in _chunks(labelled, args.batch):
                    try:
                        ans = client.send_labels(chunk, ndjson=args.ndjson)
                        res["labels_accepted"] += int(ans.get("accepted", 0))
                    except AgentError as e:
                        res.setdefault("errors", []).append({"status": e.status, "body": e.body})
        except OSError as e:
            res["error"] = str(e)
        ok = ok and res["accepted"] == res["sent"] and "error" not in res and "errors" not in res
        report["http"] = res

    for name, target in (("udp", args.udp and "udp://" + args.udp),
                         ("unix", args.unix and "unix:" + args.unix)):
        if not target:
            continue
        try:
            with DatagramClient(target) as dg:
                paced(synthetic_events(args.model, args.count, rng), dg.send_events)
                report[name] = {"sent": dg.sent, "dropped": dg.dropped}
                ok = ok and dg.dropped == 0
        except (OSError, ValueError) as e:
            report[name] = {"error": str(e)}
            ok = False

    print(json.dumps(report, sort_keys=True))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
