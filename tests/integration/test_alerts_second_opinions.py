"""alerts_second_opinions

Second opinions (issue 8, docs/health.md "Second opinions"): a target with few
regular observers (a sparse mesh, k = 2) and long probe rounds (10 s) goes down,
and the verdict comes in seconds because the receiver asks the tracker for extra
observers, which probe at once, instead of after the regular rounds.

Two systems run side by side on loopback, the same in all but one flag: six real
agents on three sites, the real tracker (--interval-s 10 --full-mesh-max 2 --k 2)
and the real receiver (--alert-hold-s 2 --health-window-results 3), one with
second opinions (the default, --second-opinions 3), one without
(--second-opinions 0). Test-only relays in front of every echo responder
(lossy_relay.PathRelays) cut every path toward a target; MQTT and presence stay
up. One target is cut in both systems (--cuts 2: then a second one).

Checks: with second opinions, a probe request for the target is published, the
tracker sends probe-now to agents that are not its regular observers, and the
"down" alert counts their failing votes; without, no request is made and the
down alert holds only the regular observers. Prints, per cut and system, the
time from the cut to the retained "down" alert, and with second opinions the
time from the first probe request (the first failing result) to it.
"""

import argparse
import json
import subprocess
import sys
import threading
import time

from harness import System, log, wait_until
from lossy_relay import PathRelays

SITES = {"a-1": "s1", "a-2": "s1", "a-3": "s2", "a-4": "s2", "a-5": "s3", "a-6": "s3"}
AGENTS = list(SITES)
TARGETS = ["a-3", "a-6"]


class BusWatch:
    """Every message under mutuo/v1/alerts/#, probe-requests/#, probe-now/+ and
    assign/+ as it arrives (one mosquitto_sub with the reader account):
    (monotonic time, topic, payload)."""

    def __init__(self, sys_):
        sys_.provision("service", "reader")
        self.proc = subprocess.Popen(
            ["stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", str(sys_.mqtt_port),
             "-i", "reader", "-u", "reader", "-P", sys_.token("reader"), "-V", "5", "-q", "1",
             "-t", "mutuo/v1/alerts/#", "-t", "mutuo/v1/probe-requests/#",
             "-t", "mutuo/v1/probe-now/+", "-t", "mutuo/v1/assign/+", "-v"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        self.events = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            topic, _, payload = line.rstrip("\n").partition(" ")
            if payload:
                with self.lock:
                    self.events.append((time.monotonic(), topic, json.loads(payload)))

    def since(self, t0, prefix):
        with self.lock:
            return [(t, topic, m) for t, topic, m in self.events
                    if t >= t0 and topic.startswith(prefix)]

    def alert(self, subject):
        with self.lock:
            for t, topic, m in reversed(self.events):
                if topic == "mutuo/v1/alerts/" + subject:
                    return m
        return None

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=5)


class Mesh:
    """One system: broker, receiver, tracker, six agents behind path relays."""

    def __init__(self, bin_dir, name, second_opinions, first_n):
        self.name = name
        self.second_opinions = second_opinions
        self.sys = System(bin_dir, name)
        self.relays = PathRelays()
        self.first_n = first_n
        self.watch = None
        self.started = False

    def start(self):
        s = self.sys
        s.start_broker()
        self.watch = BusWatch(s)
        s.start_receiver(extra=["--alert-hold-s", "2", "--health-window-results", "3",
                                "--health-stale-s", "30", "--degraded-loss", "0.3",
                                "--second-opinions", str(self.second_opinions),
                                "--metrics-listen", ""])
        s.start_tracker(interval_s=10, extra=["--full-mesh-max", "2", "--k", "2",
                                              "--metrics-listen", ""])
        for n, agent in enumerate(AGENTS, start=self.first_n):
            s.provision("agent", agent)
            p = s.spawn(agent, [
                s.program("agent/mutuo-agent"), "--id", agent, "--broker", s.broker_uri,
                "--token-file", s.token_file(agent), *self.relays.add(agent, n),
                "--label", f"site={SITES[agent]}", "--keepalive", "4", "--udp-packets", "3",
                "--udp-timeout-ms", "800", "--buffer-dir", s.agent_buffer_dir(agent),
                "--metrics-listen", ""])
            self.relays.set_pid(agent, p.pid)
        self.started = True

    def up(self, agents):
        return all((self.watch.alert(f"peer/{a}") or {}).get("state") == "up" for a in agents)

    def regular_observers(self, target):
        latest = {m["agent"]: m for _, _, m in self.watch.since(0, "mutuo/v1/assign/")}
        return {a for a, m in latest.items() if any(p["agent"] == target for p in m["peers"])}

    def down_since(self, t0, target):
        for t, _, m in self.watch.since(t0, f"mutuo/v1/alerts/peer/{target}"):
            if m["state"] == "down":
                return t, m
        return None

    def stop(self):
        if self.watch:
            self.watch.close()
        self.sys.stop_all()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--cuts", type=int, default=1, choices=[1, 2],
                    help="targets cut one after the other (ctest: 1; more figures: 2)")
    args = ap.parse_args()
    targets = TARGETS[:args.cuts]

    with_so = Mesh(args.bin_dir, "second-opinions", 3, 1)
    without = Mesh(args.bin_dir, "no-second-opinions", 0, 11)
    meshes = [with_so, without]
    figures = []
    try:
        # Two brokers: each provisions its accounts one at a time, both at once.
        starters = [threading.Thread(target=m.start) for m in meshes]
        for t in starters:
            t.start()
        for t in starters:
            t.join()
        assert all(m.started for m in meshes), "a system did not start"
        t_started = time.monotonic()
        wait_until("the targets up in both systems", lambda: all(m.up(TARGETS) for m in meshes),
                   40, interval=0.5)
        regular = {m.name: {t: m.regular_observers(t) for t in AGENTS} for m in meshes}
        for m in meshes:
            for t in AGENTS:
                assert len(regular[m.name][t]) == 2, (m.name, t, regular[m.name][t])
        # A young window fails sooner (one failure of two results is half): let
        # every regular observer fill its window (3 rounds) after the last
        # assignment change, so both systems start from the steady state.
        t_assigned = max(t for m in meshes for t, _, _ in m.watch.since(0, "mutuo/v1/assign/"))
        time.sleep(max(0.0, t_assigned + 31 - time.monotonic()))
        log(f"both systems up, windows full {time.monotonic() - t_started:.1f}s after the last "
            "agent started; every peer has two regular observers; rounds every 10 s")

        cut = set()
        for target in targets:
            t0 = time.monotonic()
            cut |= {(o, target) for o in AGENTS if o != target}
            for m in meshes:
                m.relays.block(cut)
            log(f"cut every path toward {target} in both systems")
            wait_until(f"{target} down in both systems",
                       lambda: all(m.down_since(t0, target) for m in meshes), 45, interval=0.2)

            # With second opinions: a request, probe-now to non-regular observers,
            # and their failing votes in the verdict.
            t_down, alert = with_so.down_since(t0, target)
            requests = with_so.watch.since(t0, f"mutuo/v1/probe-requests/peer/{target}")
            assert requests, "no probe request was published"
            t_req, _, req = requests[0]
            assert req["failing"] and set(req["failing"]) <= regular[with_so.name][target], req
            asked = {m["agent"] for _, _, m in with_so.watch.since(t0, "mutuo/v1/probe-now/")
                     if m["subject"] == f"peer/{target}"}
            assert asked and not asked & regular[with_so.name][target] and target not in asked, asked
            extra_votes = {o for o, v in alert["observers"].items()
                           if v == "fail" and o not in regular[with_so.name][target]}
            assert extra_votes, alert
            assert extra_votes <= asked, (extra_votes, asked)
            figures.append((target, "with second opinions", t_down - t0, t_down - t_req,
                            len(asked), sorted(alert["observers"])))
            log(f"{target}: probe request {t_req - t0:.1f}s after the cut, probe-now to "
                f"{sorted(asked)}, down {t_down - t0:.1f}s after the cut with "
                f"{len(extra_votes)} second opinion(s) failing")

            # Without: nothing asked, only the regular observers vote.
            t_down2, alert2 = without.down_since(t0, target)
            assert not without.watch.since(0, "mutuo/v1/probe-requests/"), "requests while off"
            assert not without.watch.since(0, "mutuo/v1/probe-now/"), "probe-now while off"
            voters = {o for o, v in alert2["observers"].items() if v in ("fail", "ok", "degraded")}
            assert voters <= regular[without.name][target], alert2
            figures.append((target, "without", t_down2 - t0, None, 0, sorted(alert2["observers"])))
            log(f"{target}: without second opinions down {t_down2 - t0:.1f}s after the cut")

        print("\nfault to verdict, 10 s rounds, 2 regular observers per target, hold 2 s:")
        for target, how, took, from_req, asked, observers in figures:
            extra = f", {from_req:.1f}s from the first probe request, {asked} asked" \
                if from_req is not None else ""
            print(f"  {target} {how:22s} down after {took:5.1f}s{extra}; observers {observers}")
    except BaseException:
        for m in meshes:
            m.sys.dump_logs(30)
        raise
    finally:
        for m in meshes:
            m.stop()
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
