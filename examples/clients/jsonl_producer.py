#!/usr/bin/env python3
"""Write prediction events to a JSONL log that `mlwatch-agent --tail PATH` follows.

This is what a model server's prediction log should look like: one complete JSON event per
line, written with a single append so a reader never sees half a line. Standard library only.

    jsonl_producer.py --out /var/log/model/predictions.jsonl --count 10000 --rate 200
    jsonl_producer.py --out preds.jsonl --seconds 60 --rotate-bytes 1MiB --rotate-mode rename

Rotation, as logrotate would do it (the agent follows both):
  rename        preds.jsonl -> preds.jsonl.1 (older ones shifted, --keep of them), then a
                new preds.jsonl; the agent finishes the old file before moving on.
  copytruncate  copy preds.jsonl to preds.jsonl.1, then truncate preds.jsonl in place; the
                writer keeps its descriptor (opened O_APPEND, so it writes at the new end).
                Lines written between the copy and the truncation are lost by design of
                copytruncate; prefer rename when you control the writer.

Prints one JSON line at the end: {"lines": N, "rotations": R, "path": ...}.
"""

import argparse
import json
import os
import random
import re
import shutil
import sys
import time

sys.dont_write_bytecode = True  # leave no __pycache__ beside the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlwatch_client import synthetic_events  # noqa: E402  (same directory)


def parse_size(s):
    """"4096", "64KiB", "1MiB", "10MB" -> bytes."""
    m = re.match(r"^(\d+)(B|KB|MB|GB|KiB|MiB|GiB)?$", s)
    if not m:
        raise argparse.ArgumentTypeError("bad size %r (e.g. 4096, 64KiB, 1MiB)" % s)
    mul = {None: 1, "B": 1, "KB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3,
           "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}[m.group(2)]
    return int(m.group(1)) * mul


class JsonlWriter(object):
    """Appends one event per line to path, rotating at rotate_bytes (0 = never)."""

    def __init__(self, path, rotate_bytes=0, mode="rename", keep=3):
        self.path = path
        self.rotate_bytes = rotate_bytes
        self.mode = mode
        self.keep = max(1, keep)
        self.lines = 0
        self.rotations = 0
        self._open()

    def _open(self):
        # O_APPEND: every write lands at the current end, even after a copytruncate.
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write(self, event):
        line = (json.dumps(event, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")
        if self.rotate_bytes and os.fstat(self.fd).st_size + len(line) > self.rotate_bytes:
            self.rotate()
        # One write per line: a tailing reader never sees a partial line (and would wait for
        # the newline if it did).
        n = os.write(self.fd, line)
        if n != len(line):
            raise OSError("short write to %s" % self.path)
        self.lines += 1

    def _shift(self):
        for i in range(self.keep - 1, 0, -1):
            src = "%s.%d" % (self.path, i)
            if os.path.exists(src):
                os.rename(src, "%s.%d" % (self.path, i + 1))

    def rotate(self):
        self._shift()
        if self.mode == "rename":
            os.rename(self.path, self.path + ".1")
            os.close(self.fd)
            self._open()
        else:  # copytruncate
            shutil.copyfile(self.path, self.path + ".1")
            os.ftruncate(self.fd, 0)
        self.rotations += 1

    def close(self):
        os.close(self.fd)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Write synthetic prediction events as JSONL.")
    ap.add_argument("--out", required=True, metavar="PATH", help="the log file to append to")
    ap.add_argument("--count", type=int, default=0, help="events to write (0: use --seconds)")
    ap.add_argument("--seconds", type=float, default=0.0, help="write for this long")
    ap.add_argument("--rate", type=float, default=100.0, help="events per second (default 100; "
                    "0 = as fast as possible)")
    ap.add_argument("--model", default="fraud")
    ap.add_argument("--rotate-bytes", type=parse_size, default=0, metavar="SIZE",
                    help="rotate when the file would exceed SIZE (default: never)")
    ap.add_argument("--rotate-mode", choices=["rename", "copytruncate"], default="rename")
    ap.add_argument("--keep", type=int, default=3, help="rotated files kept (default 3)")
    ap.add_argument("--seed", type=int)
    args = ap.parse_args(argv)
    if args.count <= 0 and args.seconds <= 0:
        ap.error("give --count N or --seconds S")
    if args.rate < 0:
        ap.error("--rate must be >= 0")

    rng = random.Random(args.seed)
    w = JsonlWriter(args.out, args.rotate_bytes, args.rotate_mode, args.keep)
    t0 = time.time()
    try:
        while True:
            if args.count > 0 and w.lines >= args.count:
                break
            if args.seconds > 0 and time.time() - t0 >= args.seconds:
                break
            n = 100 if args.count <= 0 else min(100, args.count - w.lines)
            for ev, _ in synthetic_events(args.model, n, rng):
                ev["ts"] = round(time.time(), 3)
                w.write(ev)
                if args.rate > 0:
                    ahead = w.lines / args.rate - (time.time() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
    except KeyboardInterrupt:
        pass
    finally:
        w.close()
    print(json.dumps({"path": args.out, "lines": w.lines, "rotations": w.rotations}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
