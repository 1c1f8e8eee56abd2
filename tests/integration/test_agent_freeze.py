"""frozen_agent_goes_offline_by_keepalive

An agent whose host stops answering (SIGSTOP: the TCP connection stays open,
nothing flows) is declared lost by the broker's keepalive within 1.5 x keepalive
plus Mosquitto 2.0's keepalive sweep (it checks every 5 s) and a second of
slack for timers; its last will marks it offline, and the
tracker removes it from the other agent's assignment. When it resumes, it comes
back online by itself.
"""

import argparse
import json
import signal
import sys
import time

from harness import System, log, wait_until

KEEPALIVE = 3
MOSQUITTO_SWEEP_S = 5  # Mosquitto 2.0 checks keepalives every 5 s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()

    with System(args.bin_dir, "freeze") as s:
        s.start_broker()
        s.start_receiver()
        s.start_tracker(interval_s=1)
        s.start_dashboard()
        for a in ("north", "south"):
            s.start_agent(a, keepalive=KEEPALIVE)

        def state(agent):
            for a in s.api("/api/agents")["agents"]:
                if a["id"] == agent:
                    return a["state"], a.get("reason")
        wait_until("both online", lambda: state("north") == ("online", None) and
                   state("south") == ("online", None), 20)

        s.procs["south"].send_signal(signal.SIGSTOP)
        stopped = time.monotonic()
        limit = 1.5 * KEEPALIVE + MOSQUITTO_SWEEP_S + 1
        wait_until("south lost by keepalive", lambda: state("south") == ("offline", "lost"), limit)
        took = time.monotonic() - stopped
        log(f"south declared lost {took:.1f}s after freezing (1.5 x keepalive = {1.5 * KEEPALIVE}s, "
            f"limit {limit}s)")

        def north_assigned():
            payload = s.retained("mutuo/v1/assign/north").get("mutuo/v1/assign/north", "")
            return [p["agent"] for p in json.loads(payload)["peers"]] if payload else []
        wait_until("tracker removes south from north's assignment", lambda: north_assigned() == [] or None, 10)

        s.procs["south"].send_signal(signal.SIGCONT)
        wait_until("south back online by itself", lambda: state("south") == ("online", None), 40)
        wait_until("north probes south again", lambda: north_assigned() == ["south"], 15)
        log("south resumed and came back online")
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
