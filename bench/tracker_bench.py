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


def percentile(values, p):
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, int(p / 100 * (len(v) - 1) + 0.5))]


def run(bin_dir, n, joins, quiet_ms, k, per_process):
    """One size. Agents are spread over ceil(n / per_process) simulators (libmosquitto
    holds three descriptors per client); the first one joins the newcomers and
    counts the tracker's bytes, the others report their assign arrivals, and
    CLOCK_MONOTONIC timestamps merge them."""
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
        token = s.provision("service", "simulator")
        count = -(-n // per_process)
        sizes = [n // count + (1 if i < n % count else 0) for i in range(count)]
        sims = []
        try:
            for i in range(count):
                argv = [s.program("bench/mutuo-sim"), "--port", str(s.mqtt_port), "--token-file", token,
                        "--sites", "8", "--providers", "3", "--keepalive", "120",
                        "--id-prefix", "sim-" if i == 0 else f"sim{i}-"]
                if i:
                    argv.append("--no-monitor")
                sims.append(Sim(argv, s.log_path(f"sim{i}")))
            t0 = time.monotonic()
            for sim, m in zip(sims, sizes):
                sim.send(f"start {m}")
            started = [sim.expect("started", 900) for sim in sims]
            for sim in sims:
                sim.send("wait-assigned 600000")
            assigned = [sim.expect("assigned", 900) for sim in sims]
            up = sum(x["up"] for x in started)
            errors = sum(x["errors"] for x in started)
            startup_s = time.monotonic() - t0
            log(f"N={n}: {up} up ({errors} errors) in {len(sims)} simulator(s); "
                f"{sum(x['with_assign'] for x in assigned)} assigned {startup_s:.1f}s after the start")
            main_sim = sims[0]
            main_sim.call("idle 3000", "idle", 60)
            for sim in sims[1:]:
                sim.call("arrivals", "arrivals", 60)  # forget the startup's
            cpu0 = proc_cpu_s(tracker.pid)
            rss0, _ = proc_mem_mb(tracker.pid)
            main_sim.events.clear()
            main_sim.send(f"measure-joins {joins} {quiet_ms} 20000")
            summary = main_sim.expect("joins", joins * (quiet_ms / 1000 + 25) + 60)
            cpu1 = proc_cpu_s(tracker.pid)
            rss1, hwm = proc_mem_mb(tracker.pid)
            rounds = [e for e in main_sim.events if e.get("event") == "join"]
            others = []
            for sim in sims[1:]:
                a = sim.call("arrivals", "arrivals", 60)
                others.extend(a["at_ns"])
            others.sort()
            join_ms, arrival_ms, affected = [], [], []
            for j, r in enumerate(rounds):
                end = rounds[j + 1]["t0_ns"] if j + 1 < len(rounds) else float("inf")
                mine = [t for t in others if r["t0_ns"] <= t < end]
                last = max([r["last_ns"]] + mine)
                join_ms.append((last - r["t0_ns"]) / 1e6)
                arrival_ms.extend(r["arrivals_ms"] + [(t - r["t0_ns"]) / 1e6 for t in mine])
                affected.append(r["affected"] + len(mine))
            # Observers of each newcomer, over every simulator's agents.
            newcomers = {r["agent"] for r in rounds}
            observers = {a: 0 for a in newcomers}
            for sim in sims:
                for agent, st in sim.call("snapshot", "snapshot", 120)["agents"].items():
                    for p in st["peers"]:
                        if p in observers:
                            observers[p] += 1
            return {
                "n": n, "up": up, "errors": errors, "sims": len(sims),
                "startup_s": startup_s, "startup_cpu_s": cpu0,
                "join_p50": percentile(join_ms, 50), "join_p99": percentile(join_ms, 99),
                "join_max": max(join_ms) if join_ms else 0,
                "arr_p50": percentile(arrival_ms, 50), "arr_p99": percentile(arrival_ms, 99),
                "affected": sum(affected) / max(1, len(affected)),
                "observers": sum(observers.values()) / max(1, len(observers)),
                "bytes": summary["bytes_per_join"], "messages": summary["messages_per_join"],
                "incomplete": summary["incomplete"], "joins": len(rounds),
                "rss_mb": rss1, "rss_before_mb": rss0, "hwm_mb": hwm,
                "cpu_per_join_ms": (cpu1 - cpu0) / max(1, len(rounds)) * 1000,
            }
        finally:
            for sim in sims:
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
    per_process = max(1000, (nofile - 200) // 3 // 1000 * 1000)
    log(f"open-file limit {nofile}: up to {per_process} agents per simulator process "
        f"(libmosquitto holds 3 descriptors per client)")
    results = []
    for n in [int(x) for x in args.sizes.split(",")]:
        if n + 200 > nofile:
            log(f"N={n}: skipped, Mosquitto needs {n + 200} descriptors, the limit is {nofile}")
            continue
        results.append(run(args.bin_dir, n, args.joins, args.quiet_ms, args.k, per_process))

    print()
    print(f"tracker_bench: k={args.k}, {args.joins} joins per size, one at a time; "
          f"join = newcomer online -> last affected agent has its new assignment")
    print(f"{'N':>7} {'sims':>4} {'join p50':>9} {'join p99':>9} {'arr p50':>8} {'arr p99':>8} "
          f"{'affected':>8} {'observers':>9} {'bytes/join':>10} {'msgs/join':>9} "
          f"{'RSS MB':>7} {'peak MB':>7} {'CPU/join':>9} {'startup':>8} {'start CPU':>9}")
    for r in results:
        print(f"{r['n']:>7} {r['sims']:>4} {r['join_p50']:>7.0f}ms {r['join_p99']:>7.0f}ms "
              f"{r['arr_p50']:>6.0f}ms {r['arr_p99']:>6.0f}ms {r['affected']:>8.1f} {r['observers']:>9.1f} "
              f"{r['bytes']:>10.0f} {r['messages']:>9.1f} {r['rss_mb']:>7.1f} {r['hwm_mb']:>7.1f} "
              f"{r['cpu_per_join_ms']:>7.1f}ms {r['startup_s']:>7.1f}s {r['startup_cpu_s']:>8.1f}s")
        if r["incomplete"] or r["errors"]:
            print(f"        ({r['incomplete']} incomplete joins, {r['errors']} connect errors)")
    for r in results:
        full_mesh = r["n"] * r["n"] * 75  # every assignment republished, one ~75-byte entry more
        print(f"N={r['n']}: bytes per join {r['bytes']:.0f} vs a full mesh ~{full_mesh:.0f} "
              f"(x{r['bytes'] / full_mesh:.5f})")
    if len(results) >= 2:
        base, top = results[0], results[-1]
        print(f"baseline N={base['n']} -> N={top['n']} (x{top['n'] / base['n']:.0f}): "
              f"bytes per join x{top['bytes'] / max(1, base['bytes']):.2f}, "
              f"join p99 x{top['join_p99'] / max(1, base['join_p99']):.2f}, "
              f"tracker CPU per join x{top['cpu_per_join_ms'] / max(0.01, base['cpu_per_join_ms']):.2f}, "
              f"RSS x{top['rss_mb'] / max(1, base['rss_mb']):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
