"""drill_agent_clock_jumps_forward_and_back

Fault drill (docs/hardening.md, "Fault drills"). Two real agents probe each
other every second through a real broker, tracker and receiver. One of them,
"clocky", runs under libfaketime (Debian package `faketime`): its wall clock
is stepped as a broken NTP or a hand-set clock would step it, while its
monotonic clock keeps running (FAKETIME_DONT_FAKE_MONOTONIC), as on a real host:

    correct -> 2 hours ahead -> 1 hour behind -> correct  (PHASE_S each)

A reader subscribed to results/+ and acks/+ records every batch and
confirmation with its arrival time. Asserted:
  - clocky's scheduler neither stalls nor bursts on any jump: it keeps about one
    round per interval in every phase, no gap between its batches is longer than
    3 intervals, no second holds more than 3 of its batches;
  - every one of its batches keeps being confirmed in every phase (results keep
    flowing, nothing piles up in its buffer);
  - the results stamped 2 hours ahead are rejected by the receiver and counted
    exactly (rejected_results_total{reason="future_timestamp"} equals the
    number of such results the reader saw); those an hour behind are inside
    the retention and are stored (not counted as rejected);
  - the other agent's results keep flowing and are stored throughout;
  - nothing crashes: broker, receiver, tracker and both agents still run.

Prints one "DRILL clock_jump:" line with the measured outcome. Skipped (exit
77) when libfaketime is not installed.
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time

from harness import System, free_port, log, scrape_metrics, wait_until

SKIP = 77
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
PHASE_S = 7
PHASES = [("correct", "+0"), ("2h ahead", "+7200"), ("1h behind", "-3600"), ("correct again", "+0")]
INTERVAL_S = 1
MAX_FUTURE_S = 600  # the receiver's default --max-future-s
# A new offset applies within FAKETIME_CACHE_DURATION (1 s), and a round stamped
# just before it is published up to a round later: each phase is judged after this.
SETTLE_S = 2.5


def read_watch(path):
    """[(arrival s, kind, agent, payload dict)] from the reader's output."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 2)
            if len(parts) != 3:
                continue
            at, topic, payload = parts
            m = re.match(r"^mutuo/v1/(results|acks)/([a-z0-9-]+)$", topic)
            if not m:
                continue
            try:
                out.append((float(at), m.group(1), m.group(2), json.loads(payload)))
            except ValueError:
                continue
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()
    if not os.path.exists(LIBFAKETIME):
        print(f"SKIP: {LIBFAKETIME} not found; install Debian's faketime package "
              "(scripts/install-deps.sh test does)", flush=True)
        return SKIP

    with System(args.bin_dir, "drill-clock") as s:
        s.start_broker()
        mport = free_port()
        s.start_receiver(extra=("--metrics-listen", f"127.0.0.1:{mport}"))
        s.start_tracker(interval_s=INTERVAL_S)

        s.provision("service", "reader")
        watch_path = os.path.join(s.dir, "watch.txt")
        watch_out = open(watch_path, "wb")
        s.procs["watch"] = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(s.mqtt_port), "-V", "5", "-i", "reader",
             "-u", "reader", "-P", s.token("reader"), "-q", "1",
             "-t", "mutuo/v1/results/+", "-t", "mutuo/v1/acks/+", "-F", "%U %t %p"],
            stdout=watch_out, stderr=subprocess.STDOUT, start_new_session=True)

        s.start_agent("steady")
        clock_file = os.path.join(s.dir, "clocky.faketime")
        with open(clock_file, "w") as f:
            f.write("+0\n")
        s.provision("agent", "clocky")
        s.spawn("clocky", [s.program("agent/mutuo-agent"), "--id", "clocky", "--broker", s.broker_uri,
                           "--token-file", s.token_file("clocky"),
                           "--echo-port", str(free_port(socket.SOCK_DGRAM)), "--echo-bind", "127.0.0.1",
                           "--advertise", "127.0.0.1", "--keepalive", "4", "--udp-packets", "5",
                           "--resend-after-s", "3", "--buffer-dir", s.agent_buffer_dir("clocky")],
                env={"LD_PRELOAD": LIBFAKETIME, "FAKETIME_TIMESTAMP_FILE": clock_file,
                     "FAKETIME_CACHE_DURATION": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"})

        def batches(agent):
            return [e for e in read_watch(watch_path) if e[1] == "results" and e[2] == agent]
        wait_until("both agents publish results",
                   lambda: len(batches("clocky")) >= 3 and len(batches("steady")) >= 3, 30, 0.2)

        bounds = []  # (name, offset s, start, end) in this host's time.time()
        for name, offset in PHASES:
            with open(clock_file, "w") as f:
                f.write(offset + "\n")
            start = time.time()
            log(f"clocky's clock: {name} ({offset} s)")
            time.sleep(PHASE_S)
            bounds.append((name, int(offset), start, time.time()))
        m_before_stop = scrape_metrics(mport)
        for a in ("clocky", "steady"):
            assert s.procs[a].poll() is None, f"{a} died"
        for p in ("mosquitto", "receiver", "tracker"):
            assert s.procs[p].poll() is None, f"{p} died"
        time.sleep(3.5)  # the last batches get confirmed
        m = scrape_metrics(mport)
        events = read_watch(watch_path)

        report = []
        future_seen = 0
        for agent in ("clocky", "steady"):
            pubs = [e for e in events if e[1] == "results" and e[2] == agent]
            acked = set()
            for e in events:
                if e[1] == "acks" and e[2] == agent:
                    acked.update(e[3]["batches"])
            for name, offset, start, end in bounds:
                window = [e for e in pubs if start + SETTLE_S <= e[0] < end]
                rounds = sorted({e[3]["batch"] for e in window})
                expected = (end - start - SETTLE_S) / INTERVAL_S
                skew = [r["ts"] / 1000 - e[0] for e in window for r in e[3]["results"]]
                unconfirmed = [b for b in rounds if b not in acked]
                report.append(f"{agent} {name}: {len(rounds)} batches (expected ~{expected:.0f}), "
                              f"{len(rounds) - len(unconfirmed)} confirmed, "
                              f"ts offset {min(skew, default=0):+.0f}..{max(skew, default=0):+.0f}s")
                log(report[-1])
                assert 0.5 * expected <= len(rounds) <= 1.5 * expected + 1, report[-1]
                assert not unconfirmed, f"{agent} {name}: batches never confirmed: {unconfirmed}"
                if agent == "clocky":
                    assert all(abs(x - offset) < 5 for x in skew), (name, offset, skew[:5])
            times = sorted(e[0] for e in pubs if e[0] >= bounds[0][2])
            gaps = [b - a for a, b in zip(times, times[1:])]
            burst = max(sum(1 for t in times if a <= t < a + 1) for a in times)
            log(f"{agent}: longest gap between batches {max(gaps):.2f}s, at most {burst} batches in 1 s")
            assert max(gaps) <= 3 * INTERVAL_S, f"{agent} stalled: a {max(gaps):.1f}s gap"
            assert burst <= 3, f"{agent} burst: {burst} batches within one second"
            future_seen += sum(1 for e in pubs for r in e[3]["results"]
                               if r["ts"] / 1000 - e[0] > MAX_FUTURE_S)
            if agent == "clocky":
                clocky_gap, clocky_burst = max(gaps), burst

        future = int(m.get('mutuo_receiver_rejected_results_total{reason="future_timestamp"}', 0))
        old = int(m.get('mutuo_receiver_rejected_results_total{reason="old_timestamp"}', 0))
        rejected_batches = {k: v for k, v in m.items() if k.startswith("mutuo_receiver_rejected_batches")}
        log(f"receiver: {future} results rejected as future, {old} as old, batches rejected: "
            f"{rejected_batches or 'none'}; stored {int(m['mutuo_receiver_results_stored_total'])}")
        assert future_seen > 0, "no result was stamped in the future: the clock never jumped"
        assert future == future_seen, f"receiver counted {future} future results, the reader saw {future_seen}"
        assert old == 0, f"results an hour old were rejected: {old}"
        assert not rejected_batches, rejected_batches
        assert m_before_stop["mutuo_receiver_results_stored_total"] > 0
        for p in ("mosquitto", "receiver", "tracker", "clocky", "steady"):
            assert s.procs[p].poll() is None, f"{p} died"
        with open(s.log_path("clocky"), errors="replace") as f:
            clocky_log = f.read()
        reconnects = clocky_log.count("connected to") - 1
        stored = int(m["mutuo_receiver_results_stored_total"])
        print(f"DRILL clock_jump: clocky's wall clock +0 -> +2h -> -1h -> +0, {PHASE_S}s each; "
              f"{future} results stamped 2h ahead rejected and counted "
              f"(future_timestamp), 0 rejected as old, {stored} stored in all; every batch "
              f"confirmed in every phase; longest gap {clocky_gap:.2f}s (interval {INTERVAL_S}s), "
              f"at most {clocky_burst} batches/s; clocky reconnected {reconnects}x; nothing crashed",
              flush=True)
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
