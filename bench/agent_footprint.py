#!/usr/bin/env python3
"""mutuo agent footprint benchmark (docs/agent.md, "Benchmark").

One mutuo-agent probes 100 targets every second with UDP echo and 100 with TCP
connect, delivering its results to a real receiver through a real broker; side
by side, in the same run, prometheus-blackbox-exporter (bound to 127.0.0.1)
does the same 100 TCP probes every second, driven over keep-alive HTTP as
Prometheus would scrape it. Targets are local: 100 listening TCP ports and 100
UDP echo responders (Python, not measured). After a warm-up, it samples each
process's CPU time (utime + stime, /proc/PID/stat) over the window and its
resident memory (VmRSS at the end, VmHWM = peak), and prints a table with CPU
per probe and the ratios agent / exporter.

Usage: bench/agent_footprint.py --bin-dir BUILD [--seconds 60] [--warmup 10]
"""

import argparse
import http.client
import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from harness import System, free_port, log, wait_port, wait_until  # noqa: E402

TARGETS = 100
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Targets:
    """100 TCP listeners (accept, close) and 100 mutuo UDP echo responders on
    one selector thread."""

    def __init__(self, n):
        self.sel = selectors.DefaultSelector()
        self.tcp_ports, self.udp_ports = [], []
        for _ in range(n):
            t = socket.socket()
            t.bind(("127.0.0.1", 0))
            t.listen(256)
            t.setblocking(False)
            self.sel.register(t, selectors.EVENT_READ, "tcp")
            self.tcp_ports.append(t.getsockname()[1])
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(("127.0.0.1", 0))
            u.setblocking(False)
            self.sel.register(u, selectors.EVENT_READ, "udp")
            self.udp_ports.append(u.getsockname()[1])
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping:
            for key, _ in self.sel.select(0.2):
                s = key.fileobj
                try:
                    if key.data == "tcp":
                        c, _ = s.accept()
                        c.close()
                    else:
                        while True:
                            data, addr = s.recvfrom(64)
                            if len(data) == 24 and data[:4] == b"MTE1" and data[4:5] == b"Q":
                                s.sendto(data[:4] + b"R" + data[5:], addr)
                except (BlockingIOError, OSError):
                    pass


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def memory_kb(pid):
    """VmRSS and VmHWM (peak) from status; Pss and USS (private pages) from smaps_rollup."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    out["USS"] = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k == "Pss":
                out["Pss"] = int(v.split()[0])
            elif k in ("Private_Clean", "Private_Dirty"):
                out["USS"] += int(v.split()[0])
    return out


class ExporterDriver:
    """Asks the exporter to probe every TCP target once a second, as Prometheus
    scraping 100 targets with a 1 s interval would (keep-alive connections)."""

    def __init__(self, port, targets, workers=16):
        self.port, self.targets = port, targets
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.local = threading.local()
        self.ok = self.failed = 0
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def probe(self, target_port):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", f"/probe?module=tcp_connect&target=127.0.0.1:{target_port}")
            body = conn.getresponse().read().decode()
            good = "probe_success 1" in body
        except (OSError, http.client.HTTPException):
            self.local.conn = None
            good = False
        with self.lock:
            if good:
                self.ok += 1
            else:
                self.failed += 1

    def run(self):
        next_t = time.monotonic()
        while not self.stopping:
            for p in self.targets:
                self.pool.submit(self.probe, p)
            next_t += 1
            time.sleep(max(0, next_t - time.monotonic()))

    def stop(self):
        self.stopping = True
        self.thread.join()
        self.pool.shutdown(wait=True)


def print_smaps(pid, top=15):
    """The mappings of `pid` holding the most resident memory."""
    rows, name = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and len(parts) >= 5 and not parts[0].endswith(":"):
                name = parts[5] if len(parts) > 5 else "[anon]"
            elif parts[0] == "Rss:":
                rows.append((int(parts[1]), name))
    by_name = {}
    for kb, n in rows:
        by_name[n] = by_name.get(n, 0) + kb
    for n, kb in sorted(by_name.items(), key=lambda x: -x[1])[:top]:
        print(f"  {kb:>8} kB  {n}")


def read_metrics(path):
    m = {}
    with open(path) as f:
        for line in f:
            if not line.startswith("#"):
                k, _, v = line.strip().rpartition(" ")
                m[k] = float(v)
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--warmup", type=float, default=10)
    ap.add_argument("--smaps", action="store_true", help="also print the agent's largest mappings by RSS")
    args = ap.parse_args()
    exporter_bin = shutil.which("prometheus-blackbox-exporter")
    if not exporter_bin:
        sys.exit("prometheus-blackbox-exporter not found (apt-get install prometheus-blackbox-exporter)")

    targets = Targets(TARGETS)
    with System(args.bin_dir, "agent-bench") as s:
        s.start_broker()
        s.provision("service", "tracker")
        s.start_receiver()
        s.start_agent("bench", extra=["--metrics-file", os.path.join(s.dir, "bench.prom")])
        agent = s.procs["bench"]
        peers = [{"agent": f"peer-{i}", "addr": "127.0.0.1", "echo_port": p, "probes": ["udp"],
                  "interval_s": 1} for i, p in enumerate(targets.udp_ports)]
        checks = [{"check": f"tcp-{i}", "type": "tcp", "host": "127.0.0.1", "port": p,
                   "interval_s": 1, "timeout_ms": 1000} for i, p in enumerate(targets.tcp_ports)]
        rc, out = s.mqtt_pub("tracker", "mutuo/v1/assign/bench",
                             json.dumps({"v": 1, "agent": "bench", "rev": 1, "peers": peers,
                                         "checks": checks}), retain=True)
        assert rc == 0, out

        conf = os.path.join(s.dir, "blackbox.yml")
        with open(conf, "w") as f:
            f.write("modules:\n  tcp_connect:\n    prober: tcp\n    timeout: 1s\n")
        bport = free_port()
        exporter = s.spawn("blackbox", [exporter_bin, f"--config.file={conf}",
                                        f"--web.listen-address=127.0.0.1:{bport}", "--log.level=warn"])
        wait_port(bport)
        driver = ExporterDriver(bport, targets.tcp_ports)

        metrics = os.path.join(s.dir, "bench.prom")
        wait_until("agent metrics", lambda: os.path.exists(metrics), 20)
        log(f"warming up {args.warmup:.0f} s")
        time.sleep(args.warmup)
        # The agent rewrites its metrics every 10 s: align the window to rewrites.
        def wait_rewrite():
            t0 = os.stat(metrics).st_mtime_ns
            wait_until("metrics rewrite", lambda: os.stat(metrics).st_mtime_ns != t0, 15, 0.05)
            return read_metrics(metrics)

        m0 = wait_rewrite()
        a_cpu0, e_cpu0 = cpu_seconds(agent.pid), cpu_seconds(exporter.pid)
        e_ok0, e_fail0 = driver.ok, driver.failed
        t0 = time.monotonic()
        log(f"measuring {args.seconds:.0f} s")
        time.sleep(max(0, args.seconds - 5))  # then up to 10 s to the next rewrite
        m1 = wait_rewrite()
        a_cpu1, e_cpu1 = cpu_seconds(agent.pid), cpu_seconds(exporter.pid)
        e_ok1, e_fail1 = driver.ok, driver.failed
        window = time.monotonic() - t0
        a_mem, e_mem = memory_kb(agent.pid), memory_kb(exporter.pid)
        if args.smaps:
            print_smaps(agent.pid)
        driver.stop()

        def res(m, probe):
            return m.get(f'mutuo_agent_results_total{{probe="{probe}"}}', 0)
        a_udp = res(m1, "udp") - res(m0, "udp")
        a_tcp = res(m1, "tcp") - res(m0, "tcp")
        a_fail = sum(m1.get(f'mutuo_agent_probe_failures_total{{probe="{p}"}}', 0) -
                     m0.get(f'mutuo_agent_probe_failures_total{{probe="{p}"}}', 0) for p in ("udp", "tcp"))
        e_probes = (e_ok1 - e_ok0) + (e_fail1 - e_fail0)
        a_cpu, e_cpu = a_cpu1 - a_cpu0, e_cpu1 - e_cpu0
        a_per = a_cpu / max(1, a_udp + a_tcp) * 1e6
        e_per = e_cpu / max(1, e_probes) * 1e6
        skipped = m1.get("mutuo_agent_rounds_skipped_total", 0)
        pending = m1.get("mutuo_agent_buffer_batches", 0)

        print()
        print(f"mutuo agent footprint: {TARGETS} UDP echo + {TARGETS} TCP targets every 1 s; "
              f"exporter: the same {TARGETS} TCP targets every 1 s; window {window:.1f} s")
        print(f"{'':34}{'mutuo-agent':>16}{'blackbox-exporter':>20}{'agent/exporter':>16}")
        print(f"{'probes in window':34}{a_udp + a_tcp:>16.0f}{e_probes:>20.0f}")
        print(f"{'  of which udp echo (10 pkts)':34}{a_udp:>16.0f}{'-':>20}")
        print(f"{'  of which tcp connect':34}{a_tcp:>16.0f}{e_probes:>20.0f}")
        print(f"{'failed probes':34}{a_fail:>16.0f}{e_fail1 - e_fail0:>20.0f}")
        print(f"{'CPU time in window, s':34}{a_cpu:>16.2f}{e_cpu:>20.2f}")
        print(f"{'CPU per probe, us':34}{a_per:>16.1f}{e_per:>20.1f}{a_per / e_per if e_per else 0:>16.2f}")
        print(f"{'RSS at end, MB':34}{a_mem['VmRSS'] / 1024:>16.2f}{e_mem['VmRSS'] / 1024:>20.2f}"
              f"{a_mem['VmRSS'] / e_mem['VmRSS']:>16.2f}")
        print(f"{'RSS peak (VmHWM), MB':34}{a_mem['VmHWM'] / 1024:>16.1f}{e_mem['VmHWM'] / 1024:>20.1f}"
              f"{a_mem['VmHWM'] / e_mem['VmHWM']:>16.2f}")
        print(f"{'PSS at end, MB':34}{a_mem['Pss'] / 1024:>16.1f}{e_mem['Pss'] / 1024:>20.1f}"
              f"{a_mem['Pss'] / e_mem['Pss']:>16.2f}")
        print(f"{'USS (private) at end, MB':34}{a_mem['USS'] / 1024:>16.1f}{e_mem['USS'] / 1024:>20.1f}"
              f"{a_mem['USS'] / e_mem['USS']:>16.2f}")
        print(f"agent: {skipped:.0f} round slots skipped, {pending:.0f} batches unconfirmed at the end")
        print(f"goals: agent RSS <= 10 MB and <= 0.5x exporter; CPU per probe <= 0.5x exporter")
    targets.stopping = True
    return 0


if __name__ == "__main__":
    sys.exit(main())
