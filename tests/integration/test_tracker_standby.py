"""standby_tracker_takes_over_and_checks_are_placed

Two trackers run against a real Mosquitto (tracker and tracker-standby); only the
one named on the retained leader topic publishes. 100 simulated agents (bench/sim)
join. A user-defined check with a label selector and 3 observers is placed on 3
agents of that site and appears in their assignments. The leader is SIGKILLed:
its last will empties the leader topic, and the standby leads within a few
seconds, publishing nothing that did not change. It then keeps the mesh: 10
agents crash and no survivor is left assigned a dead peer. Removing the check
(empty retained message) removes it from every assignment.
"""

import argparse
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "sim"))
from harness import System, log, wait_until  # noqa: E402
from simdriver import Sim  # noqa: E402

AGENTS = 100
SITES = 5
LEADER = "mutuo/v1/tracker/leader"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()

    with System(args.bin_dir, "tracker-standby") as sys_:
        sys_.start_broker()
        sys_.start_tracker()  # provisions tracker and tracker-standby

        def leader():
            payload = sys_.retained(LEADER, timeout=1).get(LEADER)
            return json.loads(payload)["tracker"] if payload else None
        wait_until("the first tracker leads", lambda: leader() == "tracker", 10)
        sys_.spawn("tracker-standby", [sys_.program("tracker/mutuo-tracker"), "--id", "tracker-standby",
                                       "--broker", sys_.broker_uri,
                                       "--token-file", sys_.token_file("tracker-standby"),
                                       "--interval-s", "2", "--settle-ms", "500"])

        sim = Sim([sys_.program("bench/mutuo-sim"), "--port", str(sys_.mqtt_port),
                   "--token-file", sys_.provision("service", "simulator"), "--sites", str(SITES)],
                  sys_.log_path("sim"))
        try:
            assert sim.call(f"start {AGENTS}", "started", 60)["up"] == AGENTS
            assigned = sim.call("wait-assigned 30000", "assigned", 40)
            assert assigned["with_assign"] == AGENTS, assigned
            with open(sys_.log_path("tracker-standby")) as f:
                standby_log = f.read()
            assert "standing by: tracker leads" in standby_log, standby_log[-2000:]
            assert "publishing" not in standby_log, standby_log[-2000:]
            log("tracker leads; tracker-standby stands by and has published nothing")

            # A check for site s1, on 3 observers.
            sys_.provision("service", "dashboard")
            check = {"v": 1, "check": "web-s1", "type": "http", "url": "http://127.0.0.1:9/",
                     "interval_s": 30, "timeout_ms": 2000, "observers": 3, "selector": {"site": "s1"}}
            rc, out = sys_.mqtt_pub("dashboard", "mutuo/v1/checks/web-s1", json.dumps(check), retain=True)
            assert rc == 0, out

            def runners():
                snap = sim.call("snapshot", "snapshot", 10)
                return sorted(a for a, s in snap["agents"].items() if "web-s1" in s["checks"])
            placed = wait_until("the check on 3 agents", lambda: len(runners()) == 3 and runners(), 10)
            for a in placed:
                assert int(a.split("-")[1]) % SITES == 1, f"{a} is not at site s1"
            log(f"check web-s1 placed on {placed}, all at site s1")

            sim.call("idle 1000", "idle", 10)
            counters = sim.call("counters", "counters", 10)
            killed_at = time.monotonic()
            sys_.kill("tracker", signal.SIGKILL)
            wait_until("the standby leads", lambda: leader() == "tracker-standby", 10, 0.1)
            took = time.monotonic() - killed_at
            log(f"tracker-standby leads {took:.1f}s after the leader was killed")
            sim.call("idle 2000", "idle", 10)
            after = sim.call("counters", "counters", 10)
            assert after["monitor_messages"] == counters["monitor_messages"], (counters, after)
            log("the new leader republished nothing: it had followed the retained state")

            crashed = set(sim.call("crash 10", "crashed", 10)["agents"])

            def healed():
                snap = sim.call("snapshot", "snapshot", 10)
                return len(snap["agents"]) == AGENTS - 10 and all(
                    not (crashed & set(s["peers"])) and s["has_assign"]
                    for s in snap["agents"].values())
            wait_until("the standby drops the crashed peers from every assignment", healed, 10, 0.3)
            log("after 10 crashes no survivor is assigned a dead peer")

            rc, out = sys_.mqtt_pub("dashboard", "mutuo/v1/checks/web-s1", "", retain=True)
            assert rc == 0, out
            wait_until("the check removed everywhere", lambda: runners() == [], 10)
            log("check removed from every assignment")
        finally:
            sim.stop()
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
