#!/usr/bin/env python3
"""Receiver ingest benchmark (docs/receiver.md, "Benchmark"). Not a test.

One run, one broker (mutuo's own Mosquitto configuration), the same QoS 1
stream of batched results queued for two consumers in turn:

  1. mosquitto_sub writing to /dev/null (the baseline: what the broker can
     deliver to one persistent QoS 1 session on this machine), and
  2. mutuo-receiver: decode, validate, WAL-synced RocksDB write with rollups,
     and a confirmation on acks/{agent} for every batch.

Each consumer's session is created first, the stream is published while it is
away (so the broker holds the whole stream), and then the consumer is started
and timed until it has everything: mosquitto_sub until it printed every
message, the receiver until its /metrics says every result is stored (and
confirmed). Then the same live: the consumer connected, the agents publishing
as fast as mosquitto_pub goes, timed from the first publish to the last result. Then the store is compacted and its bytes per result reported, and
mutuo-receiver-query-bench reports query latency.

Usage: bench/receiver_ingest_bench.py --bin-dir BUILD [--results N] [--per-batch K]
"""

import argparse
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from harness import System, free_port, log, wait_until  # noqa: E402

AGENTS = 4


def make_streams(dir_, results, per_batch):
    """One file per agent, one batch (JSON, one line) per line. Returns (files, messages)."""
    rng = random.Random(1)
    base = int(time.time() * 1000) // 60000 * 60000 - 3600000
    files, messages = [], 0
    per_agent = results // AGENTS
    for a in range(AGENTS):
        agent = f"bench-{a}"
        path = os.path.join(dir_, agent + ".lines")
        with open(path, "w") as f:
            for b in range(0, per_agent, per_batch):
                rs = []
                for i in range(b, min(per_agent, b + per_batch)):
                    avg = round(rng.uniform(0.3, 40.0), 3)
                    rs.append({"peer": f"t{i % 64}", "probe": "udp", "ts": base + (i // 64) * 1000,
                               "sent": 10, "recv": 10,
                               "rtt_ms": {"min": round(avg - 0.1, 3), "avg": avg,
                                          "max": round(avg + 0.5, 3)},
                               "jitter_ms": 0.2})
                f.write(json.dumps({"v": 1, "agent": agent, "batch": b // per_batch + 1,
                                    "results": rs}, separators=(",", ":")) + "\n")
                messages += 1
        files.append((agent, path))
    return files, messages


def publish(sys_, files):
    procs = []
    for agent, path in files:
        with open(path) as f:
            procs.append(subprocess.Popen(
                ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(sys_.mqtt_port), "-V", "5",
                 "-i", agent, "-u", agent, "-P", sys_.token(agent), "-q", "1",
                 "-t", f"mutuo/v1/results/{agent}", "-l"], stdin=f))
    for p in procs:
        if p.wait(timeout=600) != 0:
            raise SystemExit("mosquitto_pub failed")


def sub_argv(sys_, extra):
    return ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(sys_.mqtt_port), "-V", "5",
            "-i", "reader", "-u", "reader", "-P", sys_.token("reader"), "-c", "-x", "3600",
            "-q", "1", "-t", "mutuo/v1/results/#", *extra]


def stored(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        text = r.read().decode()
    m = re.search(r"^mutuo_receiver_results_stored_total (\d+)", text, re.M)
    return int(m.group(1)) if m else 0


def cpu_seconds(pid):
    """User + system CPU time of a running process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--results", type=int, default=1_000_000)
    ap.add_argument("--per-batch", type=int, default=64)
    ap.add_argument("--receiver-args", default="",
                    help="extra receiver options, e.g. '--write-buffer-mb 8'")
    ap.add_argument("--perf-out", help="record a perf profile (call graphs) of the receiver's "
                    "queued drain into this file")
    args = ap.parse_args()
    results = args.results // (AGENTS * args.per_batch) * AGENTS * args.per_batch

    with System(args.bin_dir, "receiver-bench") as sys_:
        sys_.start_broker()
        sys_.provision("service", "receiver")
        sys_.provision("service", "reader")
        for a in range(AGENTS):
            sys_.provision("agent", f"bench-{a}")
        files, messages = make_streams(sys_.dir, results, args.per_batch)
        payload_bytes = sum(os.path.getsize(p) for _, p in files)
        log(f"stream: {results} results in {messages} messages of {args.per_batch}, "
            f"{payload_bytes / results:.1f} bytes/result as JSON")

        # 1. mosquitto_sub -> /dev/null
        subprocess.run(sub_argv(sys_, ["-E"]), check=True, timeout=20)  # creates the session
        publish(sys_, files)
        t0 = time.monotonic()
        subprocess.run(sub_argv(sys_, ["-C", str(messages)]), check=True, timeout=600,
                       stdout=subprocess.DEVNULL)
        sub_s = time.monotonic() - t0

        # 2. mutuo-receiver
        store = os.path.join(sys_.dir, "store")
        metrics_port = free_port()
        argv = [sys_.program("receiver/mutuo-receiver"), "--broker", sys_.broker_uri,
                "--token-file", sys_.token_file("receiver"), "--store", store,
                "--metrics-listen", f"127.0.0.1:{metrics_port}", *shlex.split(args.receiver_args)]
        sys_.spawn("receiver", argv)  # creates the session
        wait_until("receiver subscribed", lambda: "connected to" in open(sys_.log_path("receiver")).read(), 15)
        sys_.kill("receiver", 15)
        shutil.rmtree(store)
        publish(sys_, files)
        up_at = []

        def drained():  # also notes when /metrics first answered: the store is open by then
            n = stored(metrics_port)
            if not up_at:
                up_at.append(time.monotonic())
            return n >= results

        t0 = time.monotonic()
        receiver = sys_.spawn("receiver", argv)
        perf = None
        if args.perf_out:  # the whole machine (read it with: perf report --pid PID)
            perf = subprocess.Popen(["perf", "record", "-a", "-g", "-q", "-o", args.perf_out])
            log(f"perf: receiver pid {receiver.pid}")
        wait_until("every result stored", drained, 180, 0.02)
        recv_s = time.monotonic() - t0
        startup_s = up_at[0] - t0
        if perf:
            perf.send_signal(2)
            perf.wait(timeout=60)
        recv_cpu_s = cpu_seconds(receiver.pid)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2) as r:
            metrics = r.read().decode()
        sys_.kill("receiver", 15)
        check = subprocess.run([sys_.program("bench/mutuo-receiver-store-check"), "--store", store,
                                "--compact"], capture_output=True, text=True, timeout=300)
        found = json.loads(check.stdout)

        # 3. Live: each consumer connected first, then the agents publish as fast
        # as mosquitto_pub goes; timed from the first publish to the last result.
        sub = subprocess.Popen(sub_argv(sys_, ["-C", str(messages)]), stdout=subprocess.DEVNULL)
        time.sleep(1.0)  # connected and subscribed (a local connect takes milliseconds)
        t0 = time.monotonic()
        publish(sys_, files)
        pub_live_s = time.monotonic() - t0
        sub.wait(timeout=600)
        sub_live_s = time.monotonic() - t0
        shutil.rmtree(store)
        sys_.spawn("receiver", argv)
        wait_until("receiver connected", lambda: stored(metrics_port) == 0, 15, 0.05)
        time.sleep(1.0)
        t0 = time.monotonic()
        publish(sys_, files)
        wait_until("every result stored", lambda: stored(metrics_port) >= results, 180, 0.02)
        recv_live_s = time.monotonic() - t0
        sys_.kill("receiver", 15)

        query = subprocess.run([sys_.program("bench/mutuo-receiver-query-bench")],
                               capture_output=True, text=True, timeout=300).stdout

    def metric(name):
        m = re.search(rf"^{name} (\S+)", metrics, re.M)
        return float(m.group(1)) if m else float("nan")

    writes = metric("mutuo_receiver_write_seconds_count")
    memtables = sum(float(v) for v in re.findall(r"^mutuo_store_memtable_bytes\{[^}]*\} (\S+)",
                                                  metrics, re.M))
    cap = metric("mutuo_store_write_buffer_limit_bytes")
    print(f"\nreceiver ingest bench: {results} results, {messages} QoS 1 messages of "
          f"{args.per_batch} results, {AGENTS} agents, queued on the broker, then drained")
    print(f"  mosquitto_sub -> /dev/null (baseline): {results / sub_s:10.0f} results/s  ({sub_s:.2f} s)")
    print(f"  mutuo-receiver (stored, confirmed):    {results / recv_s:10.0f} results/s  ({recv_s:.2f} s)")
    print(f"  ratio receiver / baseline:             {sub_s / recv_s:10.2f}")
    print(f"  the same without the receiver's start-up (until its /metrics answered, store open: "
          f"{startup_s:.2f} s): {results / (recv_s - startup_s):10.0f} results/s, "
          f"ratio {sub_s / (recv_s - startup_s):.2f}")
    print(f"  receiver CPU: {recv_cpu_s:.2f} s for the drain, {results / recv_cpu_s:.0f} results "
          f"per CPU-second (machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  live (consumer connected, 4 mosquitto_pub publishing at full speed, "
          f"{results / pub_live_s:.0f} results/s published):")
    print(f"    mosquitto_sub -> /dev/null:          {results / sub_live_s:10.0f} results/s  ({sub_live_s:.2f} s)")
    print(f"    mutuo-receiver (stored, confirmed):  {results / recv_live_s:10.0f} results/s  ({recv_live_s:.2f} s)")
    print(f"    ratio receiver / baseline:           {sub_live_s / recv_live_s:10.2f}")
    print(f"  store writes: {writes:.0f} WAL-synced writes, "
          f"{results / writes if writes else 0:.0f} results per write on average; memtables "
          f"after the drain {memtables / 2**20:.1f} MiB (all families; cap "
          f"{'none' if cap != cap else f'{cap / 2**20:.0f} MiB'})")
    print(f"  on disk after compaction: {found['raw_bytes_per_result']:.2f} bytes/result raw, "
          f"{found['all_bytes_per_result']:.2f} bytes/result with rollups, latest and ledger "
          f"(raw {found['raw_results']}, rollups consistent: "
          f"{found['series_rollup_mismatch'] == 0 and found['minute_count'] == results})")
    print(query, end="")


if __name__ == "__main__":
    main()
