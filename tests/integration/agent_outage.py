"""Shared by the agent's delivery tests (test_agent_outage_*.py): two agents
probing each other (UDP echo) and a TCP service every second, a real receiver
and broker, and a check that every round of a time span is in the receiver's
store exactly once."""

import json
import os
import subprocess
import time

from agent_fixtures import OpenPort
from harness import System, log, wait_until, wait_port

INTERVAL_S = 1
RESEND_AFTER_S = 3  # quicker than the default 10 s, to keep the tests short
AGENTS = ("alpha", "bravo")


def now_ms():
    return int(time.time() * 1000)


class Mesh:
    def __init__(self, system):
        self.s = system
        self.service = OpenPort()
        system.start_broker()
        self.broker_argv = system.procs["mosquitto"].args
        system.provision("service", "tracker")
        system.start_receiver()
        self.receiver_argv = system.procs["receiver"].args
        for a in AGENTS:
            system.start_agent(a, packets=3, extra=["--resend-after-s", str(RESEND_AFTER_S),
                                                    "--status-interval-s", "10"])
        self.agent_argv = {a: system.procs[a].args for a in AGENTS}
        for a in AGENTS:
            status = wait_until(f"{a} online", lambda a=a: system.retained(f"mutuo/v1/agents/{a}/status")
                                .get(f"mutuo/v1/agents/{a}/status"), 20)
            setattr(self, f"{a}_echo", json.loads(status)["echo_port"])
        self.assign("alpha", "bravo", self.bravo_echo,
                    [{"check": "svc", "type": "tcp", "host": "127.0.0.1", "port": self.service.port,
                      "interval_s": INTERVAL_S, "timeout_ms": 500}])
        self.assign("bravo", "alpha", self.alpha_echo, [])
        # The series every test follows: (observer, kind, target, probe).
        self.series_list = [("alpha", "peer", "bravo", "udp"), ("alpha", "check", "svc", "tcp"),
                            ("bravo", "peer", "alpha", "udp")]

    def assign(self, agent, peer, echo_port, checks):
        payload = json.dumps({"v": 1, "agent": agent, "rev": 1, "checks": checks,
                              "peers": [{"agent": peer, "addr": "127.0.0.1", "echo_port": echo_port,
                                         "probes": ["udp"], "interval_s": INTERVAL_S}]})
        rc, out = self.s.mqtt_pub("tracker", f"mutuo/v1/assign/{agent}", payload, retain=True)
        assert rc == 0, out

    # -- parts going away and coming back -----------------------------------
    def stop_broker(self, sig=15):
        self.s.kill("mosquitto", sig)

    def start_broker(self):
        self.s.spawn("mosquitto", self.broker_argv)
        wait_port(self.s.mqtt_port)

    def restart(self, name, argv):
        self.s.spawn(name, argv)

    # -- the store ------------------------------------------------------------
    def stored(self, observer, kind, target, probe):
        out = subprocess.run([self.s.program("bench/mutuo-agent-store-series"), "--store",
                              self.s.store_dir, "--secondary",
                              os.path.join(self.s.dir, "secondary-" + str(time.monotonic_ns())),
                              "--observer", observer, "--kind", kind, "--target", target,
                              "--probe", probe], capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise RuntimeError(out.stderr)
        return json.loads(out.stdout)

    def wait_flowing(self):
        start = now_ms()
        for (o, k, t, p) in self.series_list:
            wait_until(f"{o}->{t} {p} results stored", lambda: any(
                r["ts"] >= start for r in self.stored(o, k, t, p)), 30, 0.5)
        log("results flow into the store")

    def check_span(self, from_ms, to_ms, gaps=None, timeout=90):
        """Waits (bounded) until, in every series, the rounds of [from_ms, to_ms]
        are in the store exactly once. Results carry their slot's time, one
        interval apart, so: no timestamp twice, and no hole except inside the
        windows of `gaps` ({observer: (start, end)}) or for slots the agent
        itself reports it skipped (a round still running when the next was due,
        e.g. on a CI host starved of CPU): those were never results to lose."""
        gaps = gaps or {}
        problems = {}

        def complete():
            problems.clear()
            for (o, k, t, p) in self.series_list:
                ts = [r["ts"] for r in self.stored(o, k, t, p) if from_ms - 2000 <= r["ts"] <= to_ms + 2000]
                skipped = self.metrics(o).get("mutuo_agent_rounds_skipped_total", 0)
                why = span_problem(ts, from_ms, to_ms, INTERVAL_S * 1000, gaps.get(o), skipped)
                if why:
                    problems[(o, t, p)] = why
            return not problems
        try:
            wait_until("every round of the span stored once", complete, timeout, 1)
        except AssertionError:
            raise AssertionError(f"incomplete series: {problems}")
        n = {f"{o}->{t} {p}": len([r for r in self.stored(o, k, t, p) if from_ms <= r["ts"] <= to_ms])
             for (o, k, t, p) in self.series_list}
        log(f"every round from {from_ms} to {to_ms} stored exactly once: {n}")
        return n

    def metrics(self, agent):
        path = os.path.join(self.s.agent_buffer_dir(agent), "metrics.prom")
        values = {}
        with open(path) as f:
            for line in f:
                if line and not line.startswith("#"):
                    name, _, v = line.rpartition(" ")
                    values[name] = float(v)
        return values

    def check_nothing_dropped(self):
        for a in AGENTS:
            m = self.metrics(a)
            assert m["mutuo_agent_batches_dropped_total"] == 0, m
            assert m["mutuo_agent_buffer_write_errors_total"] == 0, m

    def close(self):
        self.service.close()


def span_problem(ts, from_ms, to_ms, interval_ms, allowed_gap, skipped_slots=0):
    """None when ts (one series) covers [from_ms, to_ms] once per round; else why."""
    if len(ts) != len(set(ts)):
        return f"{len(ts) - len(set(ts))} duplicate timestamps"
    ts = sorted(ts)
    if not ts or ts[0] > from_ms + 1.5 * interval_ms or ts[-1] < to_ms - 1.5 * interval_ms:
        return f"span not covered yet: {ts[:1]}..{ts[-1:]} for {from_ms}..{to_ms}"
    missing = 0
    for a, b in zip(ts, ts[1:]):
        if b - a > 1.5 * interval_ms:
            if allowed_gap and allowed_gap[0] <= a and b <= allowed_gap[1]:
                continue
            missing += round((b - a) / interval_ms) - 1
    if missing > skipped_slots:
        return f"{missing} rounds missing, the agent skipped only {skipped_slots:.0f} slots"
    if missing:
        log(f"{missing} rounds missing, all skipped by the agent itself (CPU starved)")
    return None
