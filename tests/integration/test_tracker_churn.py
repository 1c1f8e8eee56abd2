"""tracker_follows_churn_and_restarts_silently

200 simulated agents (bench/sim, real MQTT clients) join a real Mosquitto with the
real tracker: beyond the full mesh, every agent is observed by exactly k = 16
others. Then 20 agents crash at once (their connections drop, the broker sends
their last wills): within a few seconds no survivor is assigned a dead peer, every
survivor that probed one has a new revision, and every live peer has its 16
observers again. Then the tracker restarts: it rebuilds from the retained topics
and publishes no assignment at all.
"""

import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "sim"))
from harness import System, log, wait_until  # noqa: E402
from simdriver import Sim  # noqa: E402

AGENTS = 200
CRASH = 20
K = 16


def observers_by_target(snapshot):
    out = {}
    for agent, a in snapshot["agents"].items():
        for p in a["peers"]:
            out.setdefault(p, set()).add(agent)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()

    with System(args.bin_dir, "tracker-churn") as sys_:
        sys_.start_broker()
        tracker_argv = None
        sys_.start_tracker()
        tracker_argv = sys_.procs["tracker"].args
        sim = Sim([sys_.program("bench/mutuo-sim"), "--port", str(sys_.mqtt_port),
                   "--token-file", sys_.provision("service", "simulator"), "--sites", "5"],
                  sys_.log_path("sim"))
        try:
            started = sim.call(f"start {AGENTS}", "started", 60)
            assert started["up"] == AGENTS and started["errors"] == 0, started
            assigned = sim.call("wait-assigned 30000", "assigned", 40)
            assert assigned["with_assign"] == AGENTS, assigned
            log(f"{AGENTS} agents up and assigned in {assigned['ms']:.0f} ms")

            before = sim.call("snapshot", "snapshot", 10)
            by_target = observers_by_target(before)
            assert len(by_target) == AGENTS, len(by_target)
            assert all(len(o) == K for o in by_target.values()), \
                sorted(len(o) for o in by_target.values())[:5]
            log(f"every agent has exactly {K} observers")

            crashed = set(sim.call(f"crash {CRASH}", "crashed", 10)["agents"])
            crashed_at = time.monotonic()
            assert len(crashed) == CRASH
            had_dead = {a for a, s in before["agents"].items()
                        if a not in crashed and crashed & set(s["peers"])}
            log(f"crashed {CRASH}; {len(had_dead)} survivors were probing one of them")

            def healed():
                snap = sim.call("snapshot", "snapshot", 10)
                agents = snap["agents"]
                if set(agents) & crashed or len(agents) != AGENTS - CRASH:
                    return False
                for a, s in agents.items():
                    if crashed & set(s["peers"]):
                        return False
                for a in had_dead:
                    if agents[a]["rev"] <= before["agents"][a]["rev"]:
                        return False
                obs = observers_by_target(snap)
                return (set(obs) == set(agents) and all(len(o) == K for o in obs.values())
                        and snap)
            snap = wait_until("no dead peer assigned and every survivor observed 16 times",
                              healed, 10, 0.3)
            log(f"healed {time.monotonic() - crashed_at:.1f}s after the crash")
            changed = sum(1 for a, s in snap["agents"].items()
                          if s["rev"] != before["agents"][a]["rev"])
            log(f"{changed} of {AGENTS - CRASH} survivors got a new assignment")

            # Restart the tracker: nothing may change.
            sim.call("idle 1500", "idle", 10)
            counters = sim.call("counters", "counters", 10)
            sys_.kill("tracker", signal.SIGTERM)
            sys_.spawn("tracker", tracker_argv)
            restart_at = time.monotonic()

            def leads():
                with open(sys_.log_path("tracker"), errors="replace") as f:
                    return f.read().count("this tracker now leads") >= 2
            wait_until("the restarted tracker leads", leads, 15)
            sim.call("idle 3000", "idle", 10)  # settle (0.5 s) + debounce + margin
            after = sim.call("counters", "counters", 10)
            assert after["assigns_received"] == counters["assigns_received"], (counters, after)
            assert after["monitor_messages"] == counters["monitor_messages"], (counters, after)
            with open(sys_.log_path("tracker"), errors="replace") as f:
                tail = f.read().split("this tracker now leads")[-1]
            assert "publishing" not in tail, tail[-2000:]
            log(f"restarted tracker led {time.monotonic() - restart_at:.1f}s and published "
                f"nothing (assign/peers messages seen: {after['monitor_messages']} before and after)")

            # One agent bouncing: the first leave applies at once, then its rejoins
            # are held (--flap-hold-ms, 5 s by default) until it stays up.
            sim.call("idle 1000", "idle", 10)
            before_flap = sim.call("counters", "counters", 10)
            bouncer = None
            for _ in range(5):
                victim = sim.call("crash 1", "crashed", 10)["agents"]
                bouncer = bouncer or victim[0]
                assert victim == [bouncer], (victim, bouncer)
                sim.call("idle 300", "idle", 10)
                sim.call(f"rejoin {bouncer}", "rejoined", 20)
                sim.call("idle 300", "idle", 10)
            flapped_at = time.monotonic()

            def back():
                snap = sim.call("snapshot", "snapshot", 10)
                obs = observers_by_target(snap).get(bouncer, set())
                return len(obs) == K and snap["agents"][bouncer]["has_assign"]
            wait_until(f"{bouncer} back with {K} observers after the hold", back, 15, 0.5)
            log(f"{bouncer} bounced 5 times; back with {K} observers "
                f"{time.monotonic() - flapped_at:.1f}s after its last return")
            sim.call("idle 1000", "idle", 10)
            after_flap = sim.call("counters", "counters", 10)
            published = after_flap["monitor_messages"] - before_flap["monitor_messages"]
            # One leave and one join publish about 2k + 2 messages each; five
            # undamped bounces would publish ten times that.
            log(f"the bouncing agent cost {published} peers/assign messages")
            assert published <= 2 * (3 * K + 2), published
        finally:
            sim.stop()
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
