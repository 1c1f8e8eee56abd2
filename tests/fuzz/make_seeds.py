#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (docs/hardening.md).

For each message target: every example of its schema in schemas/, and hostile
variants of each (wrong types, out-of-range and non-finite numbers, missing
fields, duplicate keys, deep nesting, unicode tricks in ids and names). For the
echo packet: well-formed and near-miss packets. For every target: the committed
seeds (tests/fuzz/seeds/<target>/) and past crashes (tests/fuzz/regressions/).
Also writes <out>/messages.dict, a libFuzzer dictionary of the schemas' field
names and JSON tokens.

Usage: make_seeds.py --schemas DIR --out DIR
"""

import argparse
import hashlib
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
MESSAGE_TARGETS = ["status", "peer", "assign", "check", "results", "ack"]

# Strings an attacker would try in ids, names and labels.
TRICKY_STRINGS = [
    "", "FRA-1", "fra_1", "-fra", "fra/1", "fra+1", "fra#", "a" * 64, "a" * 300,
    "fr\u0430-1",          # Cyrillic a: looks like fra-1
    "\uff46\uff52\uff41",  # fullwidth "fra"
    "fra\u200b-1",         # zero-width space
    "\u202efra-1",         # right-to-left override
    "fra\u00001",          # NUL
    "\ud83d\ude00",        # emoji (surrogate pair when escaped)
    "e\u0301",             # combining accent
    "line\nbreak", "tab\there", "<script>alert(1)</script>", "' OR 1=1 --",
]
TRICKY_NUMBERS = [-1, 0, 1.5, -0.0, 2**53, 2**53 + 1, 2**63, 2**64, 2**64 + 1, 1e308, -1e308, 1e-320]
RAW_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "0x10", "01", "1.", ".5", "+1",
               "18446744073709551616", "-9223372036854775809"]


def write(out_dir, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    os.makedirs(out_dir, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(data)


def dumps(doc):
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def variants(example):
    """Hostile variants of one example message (JSON text)."""
    out = []
    for key, value in example.items():
        missing = {k: v for k, v in example.items() if k != key}
        out.append(dumps(missing))
        for wrong in [None, True, "1", 1, [], {}, [value], {"x": value}]:
            if wrong == value:
                continue
            out.append(dumps({**example, key: wrong}))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            for n in TRICKY_NUMBERS:
                out.append(dumps({**example, key: n}))
            base = dumps({**example, key: 0})
            for raw in RAW_NUMBERS:
                out.append(base.replace(f'"{key}":0', f'"{key}":{raw}', 1))
        if isinstance(value, str):
            for s in TRICKY_STRINGS:
                out.append(dumps({**example, key: s}))
            # Duplicate key: a valid value first, a hostile one last (and the reverse).
            body = dumps(example)[1:]
            out.append('{"%s":"evil/../+#",' % key + body)
            out.append(dumps(example)[:-1] + ',"%s":"evil/../+#"}' % key)
        if isinstance(value, list):
            out.append(dumps({**example, key: value * 50}))
            deep = value
            for _ in range(40):
                deep = [deep]
            out.append(dumps({**example, key: deep}))
        if isinstance(value, dict):
            out.append(dumps({**example, key: {**value, **{f"k{i}": "v" for i in range(40)}}}))
            for s in TRICKY_STRINGS[:12]:
                out.append(dumps({**example, key: {s or "empty": s}}))
    out.append(dumps({**example, "v": 2}))
    out.append(dumps({**example, "unknown": {"nested": [1, 2, {"x": None}]}}))
    out.append(dumps(example)[:-1])             # truncated
    out.append(dumps(example) + "garbage")
    out.append("[" * 20000)                     # deep nesting, unparsed
    out.append('{"a":' * 100 + "1" + "}" * 100)
    out.append(dumps(example).replace('"', '\\"', 2))
    out.append(dumps(example).encode("utf-8").decode("latin-1"))  # double-encoded
    return out


def echo_packet(reply, nonce, seq, pad=b"\0" * 3, tail=b"\0" * 4, magic=b"MTE1"):
    return magic + (b"R" if reply else b"Q") + pad + struct.pack(">QI", nonce, seq) + tail


def copy_dir(src, dst):
    if not os.path.isdir(src):
        return
    for name in sorted(os.listdir(src)):
        path = os.path.join(src, name)
        if os.path.isfile(path) and not name.startswith("."):
            with open(path, "rb") as f:
                write(dst, f.read())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--schemas", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    names = set()
    for target in MESSAGE_TARGETS:
        with open(os.path.join(args.schemas, target + ".schema.json")) as f:
            schema = json.load(f)
        out_dir = os.path.join(args.out, target)
        if os.path.isdir(out_dir):
            shutil.rmtree(out_dir)
        for example in schema.get("examples", []):
            write(out_dir, dumps(example))
            for v in variants(example):
                write(out_dir, v)

        def collect(node):
            if isinstance(node, dict):
                for k, v in node.get("properties", {}).items():
                    names.add(k)
                for v in node.values():
                    collect(v)
            elif isinstance(node, list):
                for v in node:
                    collect(v)
        collect(schema)

    echo_dir = os.path.join(args.out, "echo_packet")
    if os.path.isdir(echo_dir):
        shutil.rmtree(echo_dir)
    for p in [echo_packet(False, 0x0123456789ABCDEF, 1), echo_packet(True, 2**64 - 1, 2**32 - 1),
              echo_packet(False, 0, 0, pad=b"\xff" * 3, tail=b"\xff" * 4),
              echo_packet(False, 1, 1, magic=b"MTE2"), echo_packet(True, 1, 1)[:-1],
              echo_packet(True, 1, 1) + b"\0", b"", b"MTE1Z" + b"\0" * 19]:
        write(echo_dir, p)

    for target in MESSAGE_TARGETS + ["echo_packet", "dashboard_request"]:
        copy_dir(os.path.join(HERE, "seeds", target), os.path.join(args.out, target))
        copy_dir(os.path.join(HERE, "regressions", target), os.path.join(args.out, target))

    tokens = sorted('"%s"' % n for n in names)
    tokens += ['"v":1', "true", "false", "null", "{", "}", "[", "]", ":", ",", '"\\u0000"',
               '"\\ud800"', "1e308", "-0", "18446744073709551615", "9007199254740993",
               '"online"', '"offline"', '"shutdown"', '"lost"', '"udp"', '"icmp"', '"tcp"',
               '"http"', '"dns"', '"192.0.2.1"', '"::1"', '"https://"']
    with open(os.path.join(args.out, "messages.dict"), "w") as f:
        for i, t in enumerate(tokens):
            f.write("t%d=%s\n" % (i, json.dumps(t)))
    print(f"make_seeds: corpora in {args.out}")


if __name__ == "__main__":
    main()
