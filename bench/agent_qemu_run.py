#!/usr/bin/env python3
"""A cross-built mutuo-agent, run for real under qemu-user (docs/agent.md,
"Raspberry Pi and other ARM boxes"); called by scripts/cross-build-agent.sh.

A native Mosquitto configured by broker-config/mutuo-broker, real targets on
loopback (an HTTP server, an open TCP port, dnsmasq) and the agent's own UDP
echo responder. The ARM agent, run through qemu-user, announces itself, follows
an assignment (published here as the tracker would) with a udp peer and an
http, a tcp and a dns check, and publishes results; each is checked, then
SIGTERM must give a retained `offline` with reason `shutdown`. Prints the qemu
process's resident memory and CPU time, and the resident pages of the ARM
binary and libraries inside it. With --compare-bin-dir, the same run with a
native build, side by side.

Usage: bench/agent_qemu_run.py --bin-dir build-arm64 --qemu qemu-aarch64-static
                               [--seconds 20] [--compare-bin-dir build]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import sysconfig
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from agent_fixtures import HttpServer, OpenPort, start_dnsmasq  # noqa: E402
from harness import System, free_port, log, wait_until  # noqa: E402

INTERVAL_S = 2
CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_figures(pid, arch_marker):
    """VmRSS/VmHWM of the process, its CPU seconds, and the resident kB of
    file mappings of the agent's binary and of libraries whose path contains
    `arch_marker` (e.g. /aarch64-linux-gnu/): under qemu, what the agent itself
    maps, without qemu's own code, heap and translation cache."""
    status = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            status[k] = v.strip()
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / CLK_TCK
    mapped_kb, path = 0, ""
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and "-" in parts[0] and ":" in parts[3]:
                path = parts[5] if len(parts) >= 6 else ""
            elif parts and parts[0] == "Rss:" and (arch_marker in path or path.endswith("/mutuo-agent")):
                mapped_kb += int(parts[1])
    return {"rss_kb": int(status["VmRSS"].split()[0]), "hwm_kb": int(status["VmHWM"].split()[0]),
            "cpu_s": cpu_s, "arch_files_kb": mapped_kb}


def results_of(system, agent, seconds):
    token = system.token("reader")
    out = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(system.mqtt_port), "-V", "5",
                          "-i", "reader", "-u", "reader", "-P", token, "-q", "1",
                          "-t", f"mutuo/v1/results/{agent}", "-W", str(seconds)],
                         capture_output=True, text=True, timeout=seconds + 10)
    batches = {}
    for line in out.stdout.splitlines():
        b = json.loads(line)
        batches[b["batch"]] = b
    latest = {}
    for n in sorted(batches):
        for r in batches[n]["results"]:
            latest[(r.get("peer") or r.get("check"), r["probe"])] = r
    return latest


def run_agent(bin_dir, prefix, seconds, arch_marker, label):
    """One agent (argv prefix: qemu or nothing) through a whole run; returns figures."""
    with System(bin_dir, "agent-qemu") as s:
        s.start_broker()
        s.provision("service", "tracker")
        s.provision("service", "reader")
        s.provision("agent", "arm-1")
        web, port = HttpServer(), OpenPort()
        dns_port = start_dnsmasq(s, {"www.mutuo.test": ["127.0.0.5", "127.0.0.6"]})
        echo_port = free_port(2)
        agent_bin = s.program("agent/mutuo-agent")
        started = time.monotonic()
        p = s.spawn("arm-1", [*prefix, agent_bin, "--id", "arm-1", "--broker", s.broker_uri,
                              "--token-file", s.token_file("arm-1"), "--echo-port", str(echo_port),
                              "--echo-bind", "127.0.0.1", "--advertise", "127.0.0.1",
                              "--buffer-dir", s.agent_buffer_dir("arm-1"), "--status-interval-s", "5"])
        topic = "mutuo/v1/agents/arm-1/status"
        online = wait_until("the agent online", lambda: s.retained(topic).get(topic), 60)
        up_s = time.monotonic() - started
        assert json.loads(online)["state"] == "online", online
        log(f"{label}: online after {up_s:.1f} s, announcing probes {json.loads(online)['probes']}")
        assign = {"v": 1, "agent": "arm-1", "rev": 1,
                  "peers": [{"agent": "itself", "addr": "127.0.0.1", "echo_port": echo_port,
                             "probes": ["udp"], "interval_s": INTERVAL_S}],
                  "checks": [
                      {"check": "web", "type": "http", "url": web.url("/ok"), "interval_s": INTERVAL_S,
                       "timeout_ms": 1500, "expect_status": [200], "expect_keyword": "mutuo agent"},
                      {"check": "port", "type": "tcp", "host": "127.0.0.1", "port": port.port,
                       "interval_s": INTERVAL_S, "timeout_ms": 1500},
                      {"check": "name", "type": "dns", "name": "www.mutuo.test", "host": "127.0.0.1",
                       "port": dns_port, "interval_s": INTERVAL_S, "timeout_ms": 1500}]}
        rc, out = s.mqtt_pub("tracker", "mutuo/v1/assign/arm-1", json.dumps(assign), retain=True)
        assert rc == 0, out
        got = results_of(s, "arm-1", seconds)
        figures = proc_figures(p.pid, arch_marker)
        for key in (("itself", "udp"), ("web", "http"), ("port", "tcp"), ("name", "dns")):
            assert key in got, f"no {key} result: {sorted(got)}"
        u, h, t, d = got[("itself", "udp")], got[("web", "http")], got[("port", "tcp")], got[("name", "dns")]
        assert u["recv"] == u["sent"] > 0 and u["rtt_ms"]["max"] < 1000, u
        assert h["ok"] and h["status"] == 200 and h["bytes"] == 32, h
        assert t["ok"], t
        assert d["ok"] and d["answers"] == 2, d
        log(f"{label}: udp {u['recv']}/{u['sent']} rtt avg {u['rtt_ms']['avg']:.2f} ms; "
            f"http {h['status']} in {h['ms']['total']:.1f} ms; tcp connect {t['ms']['connect']:.2f} ms; "
            f"dns {d['answers']} answers in {d['ms']['total']:.2f} ms")
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
        status = json.loads(s.retained(topic)[topic])
        assert status["state"] == "offline" and status["reason"] == "shutdown", status
        log(f"{label}: SIGTERM -> exit {p.returncode}, offline with reason shutdown")
        assert p.returncode == 0, p.returncode
        web.close()
        port.close()
        figures["up_s"] = up_s
        return figures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True, help="the cross build (agent/mutuo-agent inside)")
    ap.add_argument("--qemu", required=True, help="e.g. qemu-aarch64-static")
    ap.add_argument("--triplet", default="aarch64-linux-gnu", help="marks the target's files in smaps")
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--compare-bin-dir", help="a native build to run the same way, for comparison")
    args = ap.parse_args()

    rows = [("qemu " + args.triplet, run_agent(os.path.abspath(args.bin_dir), [args.qemu, "-L", "/"],
                                               args.seconds, f"/{args.triplet}/", args.triplet))]
    if args.compare_bin_dir:
        native = os.path.abspath(args.compare_bin_dir)
        marker = f"/{sysconfig.get_config_var('MULTIARCH') or 'x86_64-linux-gnu'}/"
        rows.append(("native", run_agent(native, [], args.seconds, marker, "native")))
    print()
    print(f"mutuo-agent, {args.seconds} s of 4 probes every {INTERVAL_S} s (udp echo, http, tcp, dns)")
    print("| run | online after | RSS at end (peak) | agent binary + libraries resident | CPU time |")
    print("|---|---|---|---|---|")
    for name, f in rows:
        libs = f"{f['arch_files_kb'] / 1024:.1f} MB"
        print(f"| {name} | {f['up_s']:.1f} s | {f['rss_kb'] / 1024:.1f} MB ({f['hwm_kb'] / 1024:.1f}) "
              f"| {libs} | {f['cpu_s']:.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
