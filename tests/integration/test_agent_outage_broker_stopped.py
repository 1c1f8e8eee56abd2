"""agent_buffers_through_a_broker_outage

Two agents probe each other and a TCP service every second while the broker is
stopped for 60 s (--outage-s). The agents keep probing, keep every batch on
disk, and when the broker is back they resend what the receiver has not
confirmed: every round of the outage minute ends up in the receiver's store
exactly once, and nothing was dropped.
"""

import argparse
import sys
import time

from agent_outage import Mesh, now_ms
from harness import System, log


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--outage-s", type=float, default=60)
    args = ap.parse_args()
    with System(args.bin_dir, "agent-outage-broker") as s:
        m = Mesh(s)
        m.wait_flowing()
        time.sleep(2)
        stopped = now_ms()
        m.stop_broker()
        log(f"broker stopped for {args.outage_s:.0f} s")
        time.sleep(args.outage_s)
        m.start_broker()
        back = now_ms()
        log("broker back")
        n = m.check_span(stopped, back)
        rounds = (back - stopped) / 1000
        assert all(v >= rounds - 2 for v in n.values()), (n, rounds)
        m.check_nothing_dropped()
        m.close()
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
