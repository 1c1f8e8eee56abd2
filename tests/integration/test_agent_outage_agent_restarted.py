"""agent_restarted_during_a_broker_outage_loses_nothing

The broker is stopped; while it is away one agent is SIGKILLed and started
again (same buffer directory). The batches it wrote before the kill are
resent after the restart, and it goes on probing from its saved assignment
though the broker (and the retained assignment) is still away: when the broker
is back, every round of both agents is in the store exactly once, the only hole
being the seconds the killed agent was not running.
"""

import argparse
import sys
import time

from agent_outage import INTERVAL_S, Mesh, now_ms
from harness import System, log


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--outage-s", type=float, default=20)
    args = ap.parse_args()
    with System(args.bin_dir, "agent-outage-restart") as s:
        m = Mesh(s)
        m.wait_flowing()
        time.sleep(2)
        stopped = now_ms()
        m.stop_broker()
        time.sleep(args.outage_s / 4)
        killed = now_ms()
        s.kill("alpha", 9)
        time.sleep(2)
        m.restart("alpha", m.agent_argv["alpha"])
        restarted = now_ms()
        log("alpha killed and restarted while the broker is away")
        time.sleep(args.outage_s * 3 / 4)
        m.start_broker()
        back = now_ms()
        log("broker back")
        # alpha produced nothing between the kill and its first round after the
        # restart (start-up plus at most one interval). A round's results are
        # written when the round ends, so the round still running at the kill
        # (started up to one interval plus its probe time before) dies with it.
        hole = (killed - 1000 * INTERVAL_S - 2000, restarted + 5000)
        m.check_span(stopped, back, gaps={"alpha": hole})
        for (o, k, t, p) in m.series_list:
            if o != "alpha":
                continue
            before = [r for r in m.stored(o, k, t, p) if stopped <= r["ts"] < killed]
            after = [r for r in m.stored(o, k, t, p) if restarted <= r["ts"] <= back]
            assert len(before) >= (killed - stopped) / 1000 - 2, (t, len(before))
            assert len(after) >= (back - restarted) / 1000 - 6, (t, len(after))
        with open(s.log_path("alpha")) as f:
            text = f.read()
        assert "following the assignment saved" in text, "alpha did not use its saved assignment"
        m.check_nothing_dropped()
        m.close()
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
