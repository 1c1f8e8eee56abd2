#!/usr/bin/env python3
"""Soak run: the whole system under a steady load for a bounded time (not a test).

A real Mosquitto, receiver, tracker and dashboard on loopback, with
  - --agents simulated agents (bench/sim mutuo-sim, one MQTT client each): they
    announce themselves, the tracker assigns them (k observers each beyond the
    full mesh) and the dashboard lists them;
  - --agents simulated result publishers (bench's mutuo-receiver-load: the
    agent's own buffer-and-resend code, common/delivery), together publishing
    what that many agents probing --k peers every --interval-s seconds would.
A browser-like client reads the dashboard's agent list and matrix every sample.

Every --sample-s seconds it records, per component, resident memory (RSS) and
open file descriptors (from /proc), and the ingest lag from the receiver's
/metrics: the mean time from a batch's arrival to its confirmation (stored,
WAL-synced, confirmation handed to MQTT) over the last interval, and the
results queued in the receiver; also how far the stored total is behind what
the publishers were due to publish by then (seconds of load; this includes the
publishers' own pacing and reconnects, so it is an upper bound). At the end it prints the
samples and a summary: RSS after warm-up (the first --warmup-min minutes) and at
the end per component, its growth and slope (MiB per hour, least squares over
the post-warm-up samples), fds, lag; for the dashboard, whose RSS is a sawtooth
with the receiver's flush cycle, also the floor of each 5 minutes beyond its
block cache, and every --smaps-every-min its anonymous memory by kind of
mapping (heap, malloc arenas, thread stacks, large mapped chunks). The goal is
flat memory after warm-up.
Never asserts; exits 1 only when the system could not be started or a
component died.

  python3 bench/soak.py --bin-dir build [--minutes 30] [--agents 200]
"""

import argparse
import json
import os
import re
import shlex
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
# The dashboard's store memory by part (mutuo_dashboard_store_memory_bytes), MiB.
DASH_STORE_PARTS = ("block_cache", "memtables", "memtables_retired", "table_readers")
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, os.path.join(HERE, "sim"))
from harness import System, free_port, log, wait_until  # noqa: E402
from simdriver import Sim, raise_nofile  # noqa: E402


def rss_mib(pid, field="VmRSS"):
    """Resident memory in MiB: VmRSS (all), RssAnon (heap, stacks) or RssFile
    (mapped files: the program and its libraries)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


# glibc's per-thread malloc arenas are reserved 64 MiB apart, aligned to 64 MiB.
ARENA_ALIGN = 64 << 20


def anon_by_kind(pid):
    """Anonymous resident memory in MiB by kind of mapping, from
    /proc/PID/smaps: the main heap (brk), malloc's thread arenas, thread stacks
    (8 MiB mappings), other anonymous mappings (malloc's chunks of 128 KiB and
    more, mmap by libraries), and copy-on-write pages of mapped files."""
    kinds = {"heap": 0, "arenas": 0, "stacks": 0, "mapped_chunks": 0, "file_cow": 0}
    kind = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
            if m:
                start, size, name = int(m[1], 16), int(m[2], 16) - int(m[1], 16), m[4].strip()
                if name == "[heap]":
                    kind = "heap"
                elif name.startswith("/"):
                    kind = "file_cow"
                elif name:
                    kind = None  # [stack] of the main thread, [vdso] and such
                elif start % ARENA_ALIGN == 0:
                    kind = "arenas"
                elif (8 << 20) - (64 << 10) <= size <= (8 << 20):
                    kind = "stacks"
                else:
                    kind = "mapped_chunks"
            elif kind and line.startswith("Anonymous:"):
                kinds[kind] += int(line.split()[1]) / 1024
    return kinds


def window_floors(samples, value, window_s=300):
    """The lowest value in each window_s window: [(window start s, floor)].
    The dashboard's RSS is a sawtooth with the receiver's flush cycle (its
    secondary replays the write-ahead log into memtables, then drops them),
    so single samples mislead; the floors do not."""
    floors, counts = {}, {}
    for x in samples:
        k = int(x["t"] // window_s)
        floors[k] = min(floors.get(k, float("inf")), value(x))
        counts[k] = counts.get(k, 0) + 1
    # A window with under half the samples of the fullest (the last one, cut
    # short) has no floor to speak of.
    full = max(counts.values(), default=0)
    return [(k * window_s, v) for k, v in sorted(floors.items()) if counts[k] * 2 >= full]


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def dashboard_files_mib(system_dir):
    """The dashboard's files on disk: its store readers' directories (the
    secondaries', next to the stores they read) and its data directory. They
    should stay flat; the receiver's store grows with the results."""
    total = 0
    for name in os.listdir(system_dir):
        path = os.path.join(system_dir, name)
        if not (".dashboard-secondary" in name or name == "dashboard-data") or not os.path.isdir(path):
            continue
        for root, _, files in os.walk(path):
            for f in files:
                try:  # blocks, as du counts them (RocksDB preallocates its logs)
                    total += os.stat(os.path.join(root, f)).st_blocks * 512
                except OSError:
                    pass  # a file RocksDB removed in between
    return total / 2**20


def metrics_of(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r'^(mutuo_\w+)(\{[^}]*\})?\s+([0-9.e+-]+)$', line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def slope_per_hour(points):
    """Least-squares slope of (seconds, value) points, in value per hour."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    var = sum((p[0] - mx) ** 2 for p in points)
    if var == 0:
        return 0.0
    return sum((p[0] - mx) * (p[1] - my) for p in points) / var * 3600


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--warmup-min", type=float, default=None,
                    help="samples before this are warm-up (default: a fifth of the run, at most 5)")
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--k", type=int, default=16, help="peers each agent probes")
    ap.add_argument("--interval-s", type=int, default=10, help="probe round interval")
    ap.add_argument("--sample-s", type=float, default=10)
    ap.add_argument("--json-out", help="also write the samples and summary here")
    ap.add_argument("--receiver-args", default="",
                    help="extra receiver options, e.g. '--write-buffer-mb 0' (no memtable cap)")
    ap.add_argument("--load-args", default="",
                    help="more options for the result publishers (mutuo-receiver-load), "
                         "e.g. '--timestamps-now'")
    ap.add_argument("--dashboard-args", default="",
                    help="extra dashboard options, e.g. '--cache-mb 1' (a block cache full from the start)")
    ap.add_argument("--dashboard-env", action="append", default=[], metavar="NAME=VALUE",
                    help="an environment variable for the dashboard alone, e.g. MALLOC_ARENA_MAX=1 (repeatable)")
    ap.add_argument("--smaps-every-min", type=float, default=5,
                    help="the dashboard's anonymous memory by kind of mapping (/proc/PID/smaps) "
                         "this often (0: never)")
    args = ap.parse_args()
    dashboard_env = {}
    for item in args.dashboard_env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            ap.error(f"--dashboard-env {item!r}: expected NAME=VALUE")
        dashboard_env[name] = value
    warmup_s = 60 * (args.warmup_min if args.warmup_min is not None else min(5.0, args.minutes / 5))
    duration_s = 60 * args.minutes
    rate = args.agents * args.k / args.interval_s  # results per second
    total = int(rate * (duration_s + 120))  # still publishing at the last sample
    raise_nofile()

    with System(args.bin_dir, "soak") as s:
        s.start_broker()
        mport = free_port()
        s.start_receiver(extra=("--metrics-listen", f"127.0.0.1:{mport}", "--stats-every-s", "60",
                                *shlex.split(args.receiver_args)))
        s.start_tracker(interval_s=args.interval_s, extra=("--k", str(args.k)))
        dport = free_port()
        s.start_dashboard(extra=("--metrics-listen", f"127.0.0.1:{dport}", *shlex.split(args.dashboard_args)),
                          env=dashboard_env)
        log(f"provisioning {args.agents} result publishers")
        for i in range(args.agents):  # one at a time: dynsec loses concurrent changes
            s.provision("agent", f"load-{i}")
        sim = Sim([s.program("bench/mutuo-sim"), "--port", str(s.mqtt_port),
                   "--token-file", s.provision("service", "simulator"), "--sites", "8"],
                  s.log_path("sim"))
        try:
            up = sim.call(f"start {args.agents}", "started", 120)["up"]
            assigned = sim.call("wait-assigned 60000", "assigned", 70)
            log(f"{up} simulated agents up, {assigned.get('with_assign')} assigned")
            load = s.spawn("load", [s.program("bench/mutuo-receiver-load"), "--broker", s.broker_uri,
                                    "--agents", str(args.agents), "--prefix", "load",
                                    "--token-dir", os.path.join(s.broker_dir, "secrets"),
                                    "--buffer-dir", os.path.join(s.dir, "buffers"),
                                    "--results", str(total), "--per-batch", str(args.k),
                                    "--targets", str(args.k), "--rate", f"{rate:.3f}",
                                    "--timeout-s", str(int(duration_s + 300)),
                                    *shlex.split(args.load_args)])
            s.procs["sim"] = sim.proc
            components = ["mosquitto", "receiver", "tracker", "dashboard", "sim", "load"]
            admin = s.dashboard_client()
            t0 = time.monotonic()
            samples = []
            smaps_at = []
            prev = None
            log(f"soak: {args.agents} agents, {rate:.0f} results/s for {args.minutes:g} min, "
                f"warm-up {warmup_s / 60:g} min, a sample every {args.sample_s:g} s")
            header = "  t_s " + "".join(f"{c[:9]:>10}" for c in components) + \
                "  memtab   fds(rcv/brk/dsh)  stored  behind_s  confirm_ms  queued  dsh cache/memtab/retired/tr  imm  heap"
            print(header, flush=True)
            next_at = t0
            while True:
                next_at += args.sample_s
                time.sleep(max(0.0, next_at - time.monotonic()))
                t = time.monotonic() - t0
                dead = [c for c in components if s.procs[c].poll() is not None]
                if dead:
                    log(f"component(s) exited: {dead}")
                    s.dump_logs()
                    return 1
                m = metrics_of(mport)
                stored = m.get("mutuo_receiver_results_stored_total", 0)
                due = rate * t
                lag = max(0.0, due - stored) / rate
                cs, cc = m.get("mutuo_receiver_confirm_seconds_sum", 0), m.get("mutuo_receiver_confirm_seconds_count", 0)
                confirm_ms = None
                if prev and cc > prev[1]:
                    confirm_ms = (cs - prev[0]) / (cc - prev[1]) * 1000
                prev = (cs, cc)
                # A user watching the status page and the matrix, and opening
                # one pair's 24-hour chart (a different pair each time).
                admin.get("/api/agents")
                cells = admin.get("/api/matrix?probe=udp").get("cells", [])
                if cells:
                    c = cells[len(samples) * 7919 % len(cells)]
                    admin.get(f"/api/series?observer={c['observer']}&target={c['target']}"
                              f"&probe=udp&range=24h")
                dm = metrics_of(dport)
                dash_store = {part: dm.get(f'mutuo_dashboard_store_memory_bytes{{part="{part}"}}', 0) / 2**20
                              for part in DASH_STORE_PARTS}
                dash_malloc = {state: dm.get(f'mutuo_dashboard_malloc_bytes{{state="{state}"}}', 0) / 2**20
                               for state in ("in_use", "free")}
                catch_up = (dm.get('mutuo_dashboard_store_catch_ups_total{db="store"}', 0),
                            dm.get('mutuo_dashboard_store_catch_up_seconds_total{db="store"}', 0))
                queued = int(m.get("mutuo_receiver_queue_results", 0))
                memtab = sum(v for k, v in m.items() if k.startswith("mutuo_store_memtable_bytes")) / 2**20
                sample = {"t": t, "stored": stored, "lag_s": lag, "confirm_ms": confirm_ms, "queued": queued, "memtable_mib": memtab,
                          "dashboard_store_mib": dash_store, "dashboard_malloc_mib": dash_malloc,
                          "dashboard_catch_ups": catch_up,
                          "rss": {c: rss_mib(s.procs[c].pid) for c in components},
                          "rss_anon": {c: rss_mib(s.procs[c].pid, "RssAnon") for c in components},
                          "fds": {c: fds(s.procs[c].pid) for c in components},
                          "dashboard_files_mib": dashboard_files_mib(s.dir)}
                if args.smaps_every_min > 0 and (not smaps_at or t - smaps_at[-1] >= 60 * args.smaps_every_min - 1):
                    smaps_at.append(t)
                    sample["dashboard_anon_mib"] = anon_by_kind(s.procs["dashboard"].pid)
                samples.append(sample)
                print(f"{t:5.0f} " + "".join(f"{sample['rss'][c]:10.1f}" for c in components) +
                      f"  {memtab:6.1f}   {sample['fds']['receiver']:5d}/{sample['fds']['mosquitto']:4d}/"
                      f"{sample['fds']['dashboard']:4d}  {int(stored):8d}  {lag:8.1f}  "
                      f"{'' if confirm_ms is None else f'{confirm_ms:10.1f}':>10}  {queued:6d}  "
                      f"{dash_store['block_cache']:5.1f}/{dash_store['memtables']:4.1f}/"
                      f"{dash_store['memtables_retired']:4.1f}/{dash_store['table_readers']:4.1f} "
                      f"{dm.get('mutuo_dashboard_store_immutable_memtables', 0):5.0f} "
                      f"{dash_malloc['in_use']:6.1f}", flush=True)
                if t >= duration_s:
                    break
        finally:
            sim.stop()

        after = [x for x in samples if x["t"] >= warmup_s] or samples[-1:]
        first = after[: max(1, min(3, len(after) // 4 or 1))]
        last = after[-len(first):]
        print(f"\nsoak summary: {args.agents} simulated agents (+{args.agents} result publishers), "
              f"{rate:.0f} results/s, {args.minutes:g} min, warm-up {warmup_s / 60:g} min, "
              f"{len(samples)} samples", flush=True)
        print(f"{'component':<10} {'RSS@warm':>9} {'RSS@end':>8} {'growth':>8} {'MiB/h':>7} "
              f"{'RSS max':>8} {'anon grw':>8} {'fds@warm':>8} {'fds@end':>8} {'fds max':>8}")
        summary = {"components": {}}
        for c in components:
            r0 = sum(x["rss"][c] for x in first) / len(first)
            r1 = sum(x["rss"][c] for x in last) / len(last)
            slope = slope_per_hour([(x["t"], x["rss"][c]) for x in after])
            f0, f1 = after[0]["fds"][c], after[-1]["fds"][c]
            fmax = max(x["fds"][c] for x in samples)
            rmax = max(x["rss"][c] for x in samples)
            a0 = sum(x["rss_anon"][c] for x in first) / len(first)
            a1 = sum(x["rss_anon"][c] for x in last) / len(last)
            summary["components"][c] = {"rss_warm_mib": r0, "rss_end_mib": r1, "growth_mib": r1 - r0,
                                        "anon_growth_mib": a1 - a0,
                                        "slope_mib_per_h": slope, "rss_max_mib": rmax,
                                        "fds_warm": f0, "fds_end": f1, "fds_max": fmax}
            print(f"{c:<10} {r0:9.1f} {r1:8.1f} {r1 - r0:+8.1f} {slope:+7.1f} {rmax:8.1f} "
                  f"{a1 - a0:+8.1f} {f0:8d} {f1:8d} {fmax:8d}")
        mt0 = sum(x["memtable_mib"] for x in first) / len(first)
        mt1 = sum(x["memtable_mib"] for x in last) / len(last)
        rcv = summary["components"]["receiver"]
        print(f"receiver memtables (RocksDB write buffers, all families together capped by "
              f"--write-buffer-mb, 128 MiB by default): "
              f"{mt0:.1f} -> {mt1:.1f} MiB; receiver RSS growth beyond them {rcv['growth_mib'] - (mt1 - mt0):+.1f} MiB")
        summary["memtable_mib"] = [mt0, mt1]
        ds0, ds1 = ({part: sum(x["dashboard_store_mib"][part] for x in xs) / len(xs)
                     for part in DASH_STORE_PARTS} for xs in (first, last))
        print("dashboard store readers (block cache within --cache-mb / replayed memtables / "
              "retired memtables still pinned / table readers): " + ", ".join(f"{p} {ds0[p]:.1f} -> {ds1[p]:.1f} MiB" for p in ds0))
        summary["dashboard_store_mib"] = [ds0, ds1]
        # The block cache fills towards --cache-mb for hours (a chart read
        # touches blocks nobody read before): bounded, so shown apart.
        dash = summary["components"]["dashboard"]
        beyond = dash["growth_mib"] - (ds1["block_cache"] - ds0["block_cache"])
        beyond_slope = slope_per_hour([(x["t"], x["rss"]["dashboard"] - x["dashboard_store_mib"]["block_cache"])
                                       for x in after])
        print(f"dashboard RSS growth beyond its block cache: {beyond:+.1f} MiB ({beyond_slope:+.1f} MiB/h)")
        summary["dashboard_growth_beyond_cache_mib"] = beyond
        summary["dashboard_slope_beyond_cache_mib_per_h"] = beyond_slope
        floors = window_floors(after, lambda x: x["rss"]["dashboard"] - x["dashboard_store_mib"]["block_cache"])
        floor_slope = slope_per_hour(floors)
        print("dashboard RSS floor beyond its block cache, lowest sample of each 5 minutes (MiB): " +
              ", ".join(f"{v:.1f}" for _, v in floors) + f" ({floor_slope:+.1f} MiB/h)")
        summary["dashboard_floors_beyond_cache_mib"] = floors
        summary["dashboard_floor_slope_mib_per_h"] = floor_slope
        anon = [x for x in samples if "dashboard_anon_mib" in x]
        if anon:
            print("dashboard anonymous memory by mapping (MiB) at minutes " +
                  " ".join(f"{x['t'] / 60:.0f}" for x in anon))
            for kind in anon[0]["dashboard_anon_mib"]:
                print(f"  {kind:<14}" + " ".join(f"{x['dashboard_anon_mib'][kind]:5.1f}" for x in anon))
        (n0, s0), (n1, s1) = after[0]["dashboard_catch_ups"], samples[-1]["dashboard_catch_ups"]
        if n1 > n0:
            span = samples[-1]["t"] - after[0]["t"]
            print(f"dashboard catch-ups with the receiver's store: {(n1 - n0) / span:.2f}/s, "
                  f"{(s1 - s0) / (n1 - n0) * 1000:.2f} ms each on average")
            summary["dashboard_catch_up_ms_mean"] = (s1 - s0) / (n1 - n0) * 1000
        df0, df1 = after[0]["dashboard_files_mib"], samples[-1]["dashboard_files_mib"]
        print(f"dashboard files on disk (store readers' directories, data dir): {df0:.2f} -> {df1:.2f} MiB")
        summary["dashboard_files_mib"] = [df0, df1]
        dm0, dm1 = ({state: sum(x["dashboard_malloc_mib"][state] for x in xs) / len(xs)
                     for state in ("in_use", "free")} for xs in (first, last))
        print("dashboard heap (malloc: in use / freed and kept): " +
              ", ".join(f"{st} {dm0[st]:.1f} -> {dm1[st]:.1f} MiB" for st in dm0))
        summary["dashboard_malloc_mib"] = [dm0, dm1]
        lags = [x["lag_s"] for x in after]
        confirms = [x["confirm_ms"] for x in after if x["confirm_ms"] is not None]
        summary.update({"lag_s_mean": sum(lags) / len(lags), "lag_s_max": max(lags),
                        "confirm_ms_mean": sum(confirms) / len(confirms) if confirms else None,
                        "confirm_ms_max": max(confirms) if confirms else None,
                        "stored": samples[-1]["stored"], "due": rate * samples[-1]["t"]})
        summary["queued_max"] = max(x["queued"] for x in after)
        print(f"ingest lag after warm-up: arrival -> stored and confirmed mean "
              f"{summary['confirm_ms_mean'] or 0:.1f} ms, worst {args.sample_s:g} s interval "
              f"{summary['confirm_ms_max'] or 0:.1f} ms; at most {summary['queued_max']} results queued "
              f"in the receiver; stored total behind the publishers' schedule: mean "
              f"{summary['lag_s_mean']:.1f} s, max {summary['lag_s_max']:.1f} s "
              f"({int(summary['stored'])} stored of {int(summary['due'])} due)", flush=True)
        if args.json_out:
            with open(args.json_out, "w") as f:
                json.dump({"args": vars(args), "samples": samples, "summary": summary}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
