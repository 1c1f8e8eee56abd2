"""agent_resends_what_a_wiped_broker_lost

The receiver is stopped, so the broker queues the agents' batches for it (and
the agents have their PUBACKs). Then the broker is killed and started without
its persistence file: everything queued in it is lost. The agents never got a
confirmation for those batches, so they resend them: every round is in the
store exactly once when the receiver is back.
"""

import argparse
import glob
import os
import sys
import time

from agent_outage import Mesh, now_ms
from harness import System, log


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--queued-s", type=float, default=10)
    args = ap.parse_args()
    with System(args.bin_dir, "agent-outage-wiped") as s:
        m = Mesh(s)
        m.wait_flowing()
        time.sleep(2)
        receiver_gone = now_ms()
        s.kill("receiver", 15)
        log(f"receiver stopped: {args.queued_s:.0f} s of batches queue in the broker")
        time.sleep(args.queued_s)
        m.stop_broker(9)
        files = glob.glob(os.path.join(s.broker_dir, "*.db"))
        for f in files:
            os.remove(f)
        log(f"broker killed; persistence removed ({[os.path.basename(f) for f in files]})")
        m.start_broker()
        m.restart("receiver", m.receiver_argv)
        back = now_ms()
        log("broker (empty) and receiver back")
        m.check_span(receiver_gone, back)
        resent = sum(m.metrics(a)["mutuo_agent_batches_resent_total"] for a in ("alpha", "bravo"))
        assert resent > 0, "nothing was resent: the test did not exercise the loss"
        m.check_nothing_dropped()
        m.close()
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
