#!/usr/bin/env python3
"""Every service's metrics parse as Prometheus text and carry the operator's figures.

A real system on loopback (broker, receiver, tracker, dashboard, two agents);
a third agent account sends a malformed status and a malformed result batch so
that rejections by reason show. Then every /metrics endpoint (receiver, tracker,
dashboard, and each agent's with --metrics-listen) is scraped over HTTP, and
each agent's metrics file (node_exporter textfile format) is read; each text must pass
`promtool check metrics` (Prometheus' own parser and linter, Debian package
prometheus) and hold the figures docs/operating.md lists: connected agents,
results per second, rejections by reason, assignment revisions, probe failures
by type, queue depths.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import System, free_port, log, wait_until  # noqa: E402

SKIP = 77
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        ctype = r.headers.get("Content-Type", "")
        assert ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype
        return r.read().decode()


def promtool_check(name, text):
    """promtool check metrics: exit 0 and nothing said, or the test fails."""
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    said = (p.stdout + p.stderr).strip()
    assert p.returncode == 0 and not said, f"promtool on {name}'s metrics (exit {p.returncode}):\n{said}"


def samples(text):
    """{(name, frozenset(labels)): value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(s, name, **labels):
    want = frozenset(labels.items())
    found = [v for (n, l), v in s.items() if n == name and want <= l]
    assert found, f"no sample {name}{labels or ''}"
    return sum(found)


def reasons(s, name):
    return {dict(l).get("reason") for (n, l) in s if n == name}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()
    if shutil.which("promtool") is None:
        print("SKIP: promtool not found (apt-get install prometheus; scripts/install-deps.sh test)")
        sys.exit(SKIP)

    with System(args.bin_dir, "mutuo-metrics") as sysm:
        ports = {n: free_port() for n in ("receiver", "tracker", "dashboard")}
        sysm.start_broker()
        sysm.start_receiver(extra=["--metrics-listen", f"127.0.0.1:{ports['receiver']}"])
        sysm.start_tracker(interval_s=1, extra=["--metrics-listen", f"127.0.0.1:{ports['tracker']}"])
        sysm.start_dashboard(extra=["--metrics-listen", f"127.0.0.1:{ports['dashboard']}"])
        agents = ["alpha", "bravo"]
        agent_ports = {a: free_port() for a in agents}
        for a in agents:
            sysm.start_agent(a, packets=3, extra=["--metrics-listen", f"127.0.0.1:{agent_ports[a]}"])

        # Bad input from a registered agent: a status and a batch that do not decode.
        sysm.provision("agent", "mallory")
        rc, out = sysm.mqtt_pub("mallory", "mutuo/v1/agents/mallory/status", '{"v":1,"agent":"x"}')
        assert rc == 0, out
        rc, out = sysm.mqtt_pub("mallory", "mutuo/v1/results/mallory", '{"v":1,"agent":"mallory"}')
        assert rc == 0, out

        def receiver_ready():
            s = samples(scrape(ports["receiver"]))
            stored = value(s, "mutuo_receiver_results_stored_total")
            return s if stored > 0 and reasons(s, "mutuo_receiver_rejected_batches_total") else None
        wait_until("results stored and a rejection counted by the receiver", receiver_ready, 60, 0.5)

        def tracker_ready():
            s = samples(scrape(ports["tracker"]))
            return s if value(s, "mutuo_tracker_live_agents") == 2 and value(
                s, "mutuo_tracker_published_messages_total") > 0 else None
        wait_until("the tracker's live set of 2", tracker_ready, 30, 0.5)

        def agent_files_ready():
            texts = {}
            for a in agents:
                path = os.path.join(sysm.agent_buffer_dir(a), "metrics.prom")
                with open(path) as f:
                    texts[a] = f.read()
                if value(samples(texts[a]), "mutuo_agent_results_total") <= 0:
                    return None
            return texts
        # The agent rewrites its file every 10 s.
        agent_texts = wait_until("both agents' metrics files with results", agent_files_ready, 40, 1)

        # A reader of the matrix keeps the dashboard's store view in use, so
        # its own thread follows the receiver's writes.
        viewer = sysm.dashboard_client()

        def store_followed():
            viewer.get("/api/matrix?probe=udp")
            s = samples(scrape(ports["dashboard"]))
            return s if value(s, "mutuo_dashboard_store_catch_ups_total", db="store") > 0 else None
        wait_until("the dashboard catching up with the receiver's store", store_followed, 20, 0.5)

        texts = {n: scrape(p) for n, p in ports.items()}
        texts.update({f"agent {a} file": t for a, t in agent_texts.items()})
        texts.update({f"agent {a} /metrics": scrape(p) for a, p in agent_ports.items()})
        for name, text in texts.items():
            promtool_check(name, text)
            log(f"{name}: {len(samples(text))} samples, promtool check metrics clean")

        r = samples(texts["receiver"])
        assert value(r, "mutuo_receiver_results_stored_total") > 0
        value(r, "mutuo_receiver_ingest_results_per_second")  # results/s
        assert value(r, "mutuo_receiver_batches_total", outcome="stored") > 0
        assert reasons(r, "mutuo_receiver_rejected_batches_total") - {None}, "rejections by reason"
        value(r, "mutuo_receiver_queue_batches")  # queue depths
        value(r, "mutuo_receiver_queue_results")

        t = samples(texts["tracker"])
        assert value(t, "mutuo_tracker_leader") == 1
        assert value(t, "mutuo_tracker_live_agents") == 2  # connected agents
        assert value(t, "mutuo_tracker_published_messages_total") >= 4  # 2 peers + 2 assignments
        assert value(t, "mutuo_tracker_plans_total") >= 1
        assert reasons(t, "mutuo_tracker_rejected_total") - {None}, "tracker rejections by reason"

        d = samples(texts["dashboard"])
        assert value(d, "mutuo_dashboard_agents", state="online") == 2  # connected agents
        assert value(d, "mutuo_dashboard_broker_connected") == 1
        assert value(d, "mutuo_dashboard_status_rejected_total") >= 1
        # The store's readers: one block cache within --cache-mb (16 MiB by default).
        assert 0 <= value(d, "mutuo_dashboard_store_memory_bytes", part="block_cache") <= 16 << 20
        assert value(d, "mutuo_dashboard_store_memory_bytes", part="memtables") >= 0
        assert value(d, "mutuo_dashboard_store_memory_bytes", part="table_readers") >= 0
        assert value(d, "mutuo_dashboard_store_catch_ups_total", db="store") > 0
        assert value(d, "mutuo_dashboard_store_catch_up_seconds_total", db="store") >= 0
        assert value(d, "mutuo_dashboard_store_catch_ups_total", db="alert_history") >= 0

        for a in agents:
            http = samples(texts[f"agent {a} /metrics"])
            assert value(http, "mutuo_agent_results_total", probe="udp") >= value(
                samples(agent_texts[a]), "mutuo_agent_results_total", probe="udp")  # live, not the file
            s = samples(agent_texts[a])
            assert value(s, "mutuo_agent_connected") == 1
            assert value(s, "mutuo_agent_results_total", probe="udp") > 0
            value(s, "mutuo_agent_probe_failures_total", probe="udp")  # failures by probe type
            value(s, "mutuo_agent_buffer_batches")  # queue depth: unconfirmed batches
        log("every figure present: connected agents, results/s, rejections by reason, "
            "assignment revisions, probe failures by type, queue depths")
    print("test_metrics_scrape: OK", flush=True)


if __name__ == "__main__":
    main()
