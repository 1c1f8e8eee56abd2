#!/usr/bin/env python3
"""Cuts a heaptrack trace at a moment, giving the heap as it was then (not a test).

heaptrack records every allocation and free with a timestamp line ("c <ms in
hex>") every few milliseconds. The trace cut just before the first timestamp
past --at-s is a trace that ended at that moment: `heaptrack_print` reports
what was still allocated then as "leaked". Two cuts of one run, compared with
`heaptrack_print --diff`, show which allocation sites grew between them,
without restarting or killing the process twice.

  heaptrack -p PID -o /tmp/ht            # attach after warm-up; stop it later
  python3 bench/heaptrack_at.py /tmp/ht.zst --at-s 300 -o /tmp/ht-5min.zst
  python3 bench/heaptrack_at.py /tmp/ht.zst --at-s 900 -o /tmp/ht-15min.zst
  heaptrack_print -f /tmp/ht-15min.zst -d /tmp/ht-5min.zst --print-leaks 1 \\
      --print-peaks 0 --print-allocators 0 --print-temporary 0 -n 10 -s 10

Needs zstd; seconds count from the start of the trace (the attach).
"""

import argparse
import shlex
import subprocess
import sys


def cut_line(trace, at_ms):
    """The 1-based number of the first timestamp line past at_ms, and the
    last timestamp (ms) before it; (None, last) when the trace ends sooner."""
    dec = subprocess.Popen(["zstdcat", trace], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    grep = subprocess.Popen(["grep", "-n", "^c "], stdin=dec.stdout, stdout=subprocess.PIPE, text=True)
    dec.stdout.close()
    last = 0
    found = None
    for line in grep.stdout:
        number, _, stamp = line.partition(":")
        ms = int(stamp[2:], 16)
        if ms > at_ms:
            found = int(number)
            break
        last = ms
    grep.kill()
    grep.wait()
    dec.kill()
    dec.wait()
    return found, last


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 epilog=__doc__.split("\n", 2)[2],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trace", help="a heaptrack trace (.zst)")
    ap.add_argument("--at-s", type=float, required=True, help="seconds after the trace began")
    ap.add_argument("-o", "--output", required=True, help="the cut trace (.zst)")
    args = ap.parse_args()
    if args.at_s < 0:
        ap.error("--at-s must not be negative")
    line, last_ms = cut_line(args.trace, int(args.at_s * 1000))
    if line is None:
        print(f"{args.trace} ends at {last_ms / 1000:.1f} s, before {args.at_s:g} s", file=sys.stderr)
        return 1
    # zstdcat stops on SIGPIPE when head has its lines: only zstd's status counts.
    cmd = (f"zstdcat {shlex.quote(args.trace)} 2>/dev/null | head -n {line - 1} | "
           f"zstd -q -f -o {shlex.quote(args.output)}")
    if subprocess.run(["bash", "-c", cmd]).returncode != 0:
        print(f"cannot write {args.output}", file=sys.stderr)
        return 1
    print(f"{args.output}: the trace up to {last_ms / 1000:.1f} s ({line - 1} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
