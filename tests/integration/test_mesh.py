"""agents_probe_each_other_and_survive_a_kill

Three agents come up against a real Mosquitto with the real tracker, receiver and
dashboard; within a few probe rounds /api/matrix holds all 6 pairs with loss 0.
Then one agent is SIGKILLed: it shows offline in /api/agents within 1.5 x
keepalive, the tracker drops it from the peer list, the survivors' results toward
it show loss (or stop), and their mutual pair stays healthy.
"""

import argparse
import signal
import sys
import time

from harness import System, log, wait_until

KEEPALIVE = 4
AGENTS = ["alpha", "bravo", "charlie"]


def cells_by_pair(matrix):
    return {(c["observer"], c["target"]): c for c in matrix["cells"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()

    with System(args.bin_dir, "mesh") as sys_:
        sys_.start_broker()
        sys_.start_receiver()
        sys_.start_tracker(interval_s=1)
        sys_.start_dashboard()
        for a in AGENTS:
            sys_.start_agent(a, keepalive=KEEPALIVE)

        wait_until("three agents online in /api/agents",
                   lambda: sorted(x["id"] for x in sys_.api("/api/agents")["agents"]
                                  if x["state"] == "online") == AGENTS, 20)
        log("three agents online")

        pairs = [(o, t) for o in AGENTS for t in AGENTS if o != t]

        def all_pairs_healthy():
            cells = cells_by_pair(sys_.api("/api/matrix"))
            return all(p in cells and cells[p]["loss"] == 0 and cells[p]["rtt_ms"] for p in pairs)
        wait_until("all 6 pairs in /api/matrix with loss 0", all_pairs_healthy, 30)
        cells = cells_by_pair(sys_.api("/api/matrix"))
        for p in pairs:
            c = cells[p]
            assert c["sent"] == c["recv"] > 0, c
            assert 0 <= c["rtt_ms"]["min"] <= c["rtt_ms"]["avg"] <= c["rtt_ms"]["max"] < 1000, c
        log("all 6 pairs measured with loss 0")

        peers = sys_.retained("mutuo/v1/peers/+")
        assert sorted(t.rsplit("/", 1)[1] for t, v in peers.items() if v) == AGENTS, peers

        victim, survivors = "charlie", ["alpha", "bravo"]
        killed_at = time.monotonic()
        sys_.kill(victim, signal.SIGKILL)

        def victim_offline():
            for a in sys_.api("/api/agents")["agents"]:
                if a["id"] == victim:
                    return a["state"] == "offline" and a.get("reason") == "lost"
        wait_until(f"{victim} offline in /api/agents", victim_offline, 1.5 * KEEPALIVE + 1)
        log(f"{victim} offline after {time.monotonic() - killed_at:.1f}s "
            f"(limit 1.5 x keepalive = {1.5 * KEEPALIVE}s)")

        wait_until(f"tracker drops {victim} from the peer list",
                   lambda: not sys_.retained(f"mutuo/v1/peers/{victim}").get(f"mutuo/v1/peers/{victim}"),
                   10)
        assign = sys_.retained("mutuo/v1/assign/alpha")
        assert victim not in assign.get("mutuo/v1/assign/alpha", ""), assign
        log("tracker dropped it from peers and assignments")

        # Survivors toward the victim: loss, or no new results after the kill.
        time.sleep(3)  # a few rounds at interval 1 s
        now_ms = sys_.api("/api/matrix")["now"]
        cells = cells_by_pair(sys_.api("/api/matrix"))
        for s in survivors:
            c = cells[(s, victim)]
            stale = c["ts"] < now_ms - 2500
            assert c["loss"] > 0 or stale, f"{s}->{victim} still looks healthy: {c}"
        for p in [("alpha", "bravo"), ("bravo", "alpha")]:
            c = cells[p]
            assert c["loss"] == 0 and c["ts"] >= now_ms - 3000, f"{p} not healthy and fresh: {c}"
        log("survivors see the victim lost or silent; their mutual pair stays healthy")
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
