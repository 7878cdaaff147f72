#!/usr/bin/python3
"""Golden bytes of the agent -> collector wire format, encoded by hand here
from common/mlwatch.proto (protobuf's wire rules: varint keys, fields in
field-number order, little-endian doubles), independently of protobuf-c.
tests/unit/test_golden.c builds the same Batch and Reply with common/wire.c
and requires these exact bytes (and decodes them back).

    python3 tests/data/gen_golden_wire.py   # writes tests/data/golden/wire_*.hex

A change to these files is a change of the wire format: it needs a new
protocol version or a compatible (old readers still decode) reason.
"""

import os
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")


def varint(n):
    if n < 0:
        n += 1 << 64  # int64: two's complement, 10 bytes
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wt):
    return varint(field << 3 | wt)


def u(field, n):  # varint: uint32, uint64, int64, bool, enum
    return key(field, 0) + varint(n)


def d(field, x):  # double
    return key(field, 1) + struct.pack("<d", x)


def s(field, v):  # string, bytes, embedded message
    b = v.encode() if isinstance(v, str) else v
    return key(field, 2) + varint(len(b)) + b


def value_num(x):
    return d(1, x)


def value_str(v):
    return s(2, v)


def batch():
    e1 = b"".join([
        s(1, "fraud"), s(2, "v2"), s(3, "req-1"), d(4, 1764072000.25), d(5, 12.5),
        u(6, 1),
        s(7, s(1, "amount") + d(2, 99.5)),
        s(7, s(1, "country") + s(3, "DE")),
        s(7, s(1, "missing")),  # a feature without a value: name only
        s(8, value_str("ok")),
        d(9, 0.75),
        s(10, s(1, "ok") + d(2, 0.75)),
        s(10, s(1, "bad") + d(2, 0.25)),
        s(11, value_num(1.0)),
    ])
    e2 = s(1, "churn") + d(4, 1764072000.5)  # only what is required
    label = s(1, "fraud") + s(2, "req-0") + s(3, value_str("bad")) + d(4, 1764071999.5)
    summary = (s(1, "fraud") + u(2, 1764072000) + u(3, 10) + u(4, 1) +
               s(5, b"\x01\x02\xff") + u(6, 1))
    stats = u(1, 100) + u(2, 2) + u(3, 0) + u(4, 4096) + d(5, 1764000000.0)
    return b"".join([
        u(1, 1), s(2, "agent-7"), u(3, 42), s(4, b"s3cret"),
        s(5, e1), s(5, e2), s(6, label), s(7, summary),
        d(8, 1764072001.5), s(9, stats),
    ])


def reply():
    return u(1, 42) + u(2, 3) + s(3, "database busy") + u(4, 1) + u(5, 7) + u(6, 2)


def write(name, data):
    with open(os.path.join(HERE, name), "w") as f:
        for i in range(0, len(data), 32):
            f.write(data[i:i + 32].hex() + "\n")


if __name__ == "__main__":
    write("wire_batch.hex", batch())
    write("wire_reply.hex", reply())
