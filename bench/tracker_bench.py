#!/usr/bin/env python3
"""Tracker at scale: join latency, bytes per join, tracker RSS and CPU.

For each N (default 1,000 and 10,000): a real Mosquitto on loopback, the real
tracker, and N simulated agents (bench/sim/mutuo-sim, one MQTT client each).
Once every agent holds its assignment, agents join one at a time; for each join
the simulator times how long until every affected agent has received its new
assignment (the last assign/ arrival of that round, counted from the newcomer's
online status), and a monitor client counts the bytes the tracker published on
assign/+ and peers/+. Prints figures, with the smallest N as the baseline and a
full mesh (what the skeleton tracker published) as a second one. Never asserts.

  python3 bench/tracker_bench.py --bin-dir build [--sizes 1000,10000] [--joins 30]
"""

import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, os.path.join(HERE, "sim"))
from harness import System, log  # noqa: E402
from simdriver import Sim, raise_nofile  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def proc_mem_mb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out.get("VmRSS", 0), out.get("VmHWM", 0)


def quiet_broker(conf_path):
    """10k clients: no per-connection log lines; the rest of the config as generated."""
    with open(conf_path) as f:
        conf = f.read()
    conf = conf.replace("connection_messages true", "connection_messages false")
    conf = re.sub(r"^log_type (notice|information)\n", "", conf, flags=re.M)
    conf += "\n# tracker_bench: no limit on connections (the default, stated)\nmax_connections -1\n"
    with open(conf_path, "w") as f:
        f.write(conf)


def run(bin_dir, n, joins, quiet_ms, k):
    with System(bin_dir, f"tracker-bench-{n}") as s:
        subprocess.run([os.path.join(HERE, "..", "broker-config", "mutuo-broker"), "init",
                        s.broker_dir, "--port", str(s.mqtt_port)], check=True,
                       stdout=subprocess.DEVNULL)
        quiet_broker(os.path.join(s.broker_dir, "mosquitto.conf"))
        s.spawn("mosquitto", ["mosquitto", "-c", os.path.join(s.broker_dir, "mosquitto.conf")])
        time.sleep(0.5)
        s.provision("service", "tracker")
        tracker = s.spawn("tracker", [s.program("tracker/mutuo-tracker"), "--broker", s.broker_uri,
                                      "--token-file", s.token_file("tracker"), "--settle-ms", "1000",
                                      "--k", str(k)])
        sim = Sim([s.program("bench/mutuo-sim"), "--port", str(s.mqtt_port),
                   "--token-file", s.provision("service", "simulator"), "--sites", "8",
                   "--providers", "3", "--keepalive", "120"], s.log_path("sim"))
        try:
            t0 = time.monotonic()
            started = sim.call(f"start {n}", "started", 900)
            assigned = sim.call("wait-assigned 600000", "assigned", 900)
            log(f"N={n}: {started['up']} up ({started['errors']} errors) in {started['ms'] / 1000:.1f}s, "
                f"all assigned {time.monotonic() - t0:.1f}s after the start")
            sim.call("idle 3000", "idle", 60)
            cpu0 = proc_cpu_s(tracker.pid)
            rss0, _ = proc_mem_mb(tracker.pid)
            counters0 = sim.call("counters", "counters", 60)
            sim.send(f"measure-joins {joins} {quiet_ms} 20000")
            summary = sim.expect("joins", joins * (quiet_ms / 1000 + 25) + 60)
            cpu1 = proc_cpu_s(tracker.pid)
            rss1, hwm = proc_mem_mb(tracker.pid)
            counters1 = sim.call("counters", "counters", 60)
            return {
                "n": n, "up": started["up"], "errors": started["errors"],
                "startup_s": time.monotonic() - t0, "startup_cpu_s": cpu0,
                "summary": summary, "rss_mb": rss1, "rss_before_mb": rss0, "hwm_mb": hwm,
                "cpu_per_join_ms": (cpu1 - cpu0) / max(1, summary["count"]) * 1000,
                "assign_bytes_at_start": counters0["monitor_bytes"],
                "sim_errors": counters1["errors"],
            }
        finally:
            sim.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--joins", type=int, default=30)
    ap.add_argument("--quiet-ms", type=int, default=1000,
                    help="a join round ends this long after its last assign arrival")
    ap.add_argument("--k", type=int, default=16)
    args = ap.parse_args()
    nofile = raise_nofile()
    log(f"open-file limit {nofile} (mutuo-sim needs 3 per agent, Mosquitto 1)")
    results = []
    for n in [int(x) for x in args.sizes.split(",")]:
        if 3 * n + 100 > nofile:  # libmosquitto: three descriptors per simulated agent
            log(f"N={n}: skipped, open-file limit {nofile} is too low")
            continue
        results.append(run(args.bin_dir, n, args.joins, args.quiet_ms, args.k))

    print()
    print(f"tracker_bench: k={args.k}, {args.joins} joins per size, one at a time")
    hdr = (f"{'N':>7} {'join p50':>9} {'join p99':>9} {'arr p50':>8} {'arr p99':>8} "
           f"{'affected':>8} {'bytes/join':>10} {'msgs/join':>9} {'full mesh':>12} "
           f"{'RSS MB':>7} {'peak MB':>7} {'CPU/join':>9} {'start CPU':>9}")
    print(hdr)
    for r in results:
        s = r["summary"]
        n = r["n"]
        # A full mesh republishes every agent's assignment with one more entry
        # (about 75 bytes each): N * N * 75 bytes per join.
        full_mesh = n * n * 75
        print(f"{n:>7} {s['join_ms_p50']:>7.0f}ms {s['join_ms_p99']:>7.0f}ms "
              f"{s['arrival_ms_p50']:>6.0f}ms {s['arrival_ms_p99']:>6.0f}ms "
              f"{s['affected_mean']:>8.1f} {s['bytes_per_join']:>10.0f} {s['messages_per_join']:>9.1f} "
              f"{full_mesh:>12.0f} {r['rss_mb']:>7.1f} {r['hwm_mb']:>7.1f} "
              f"{r['cpu_per_join_ms']:>7.1f}ms {r['startup_cpu_s']:>8.1f}s")
        if s["incomplete"] or r["sim_errors"] or r["errors"]:
            print(f"        ({s['incomplete']} incomplete joins, {r['sim_errors']} simulator errors)")
    if len(results) >= 2:
        base, top = results[0], results[-1]
        ratio_n = top["n"] / base["n"]
        ratio_bytes = top["summary"]["bytes_per_join"] / max(1, base["summary"]["bytes_per_join"])
        print(f"baseline N={base['n']}: N x{ratio_n:.0f} -> bytes per join x{ratio_bytes:.2f}, "
              f"join p99 x{top['summary']['join_ms_p99'] / max(1, base['summary']['join_ms_p99']):.2f}, "
              f"CPU per join x{top['cpu_per_join_ms'] / max(0.01, base['cpu_per_join_ms']):.2f}, "
              f"RSS x{top['rss_mb'] / max(1, base['rss_mb']):.2f}")
    for r in results:
        s = r["summary"]
        print(f"N={r['n']}: bytes per join {s['bytes_per_join']:.0f} = "
              f"{s['bytes_per_join'] / (r['n'] * r['n'] * 75):.5f} x a full mesh; "
              f"observers of the newcomer (mean) {s['observers_mean']:.1f}; "
              f"startup {r['startup_s']:.0f}s with {r['up']} agents")
    return 0


if __name__ == "__main__":
    sys.exit(main())
