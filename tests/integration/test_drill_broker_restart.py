"""drill_broker_killed_during_load_loses_and_duplicates_nothing

Fault drill (docs/hardening.md, "Fault drills"). Four simulated agents publish
RESULTS results through the agent's own buffer-and-resend code (common/delivery,
via bench's mutuo-receiver-load) to a real receiver. While they publish, the
broker (Mosquitto, persistence on) is SIGKILLed twice and restarted on the same
port and data directory, as a supervisor would restart it.

What a user checks afterwards, asserted:
  - every batch is confirmed to its agent, none dropped from an agent's buffer;
  - the store holds exactly RESULTS raw results: none lost, none stored twice
    (a resent batch lands on the same keys and is recognised by the ledger);
  - every series' minute and hour rollups count exactly its raw results;
  - after each restart the receiver stores again without anyone touching it.

Prints one "DRILL broker_restart:" line with the measured outcome: results
sent/stored/duplicated, batches resent by the agents and re-confirmed by the
receiver, and the recovery time after each restart (broker back -> the
receiver stores new results again).
"""

import argparse
import os
import re
import sys
import time

from harness import (System, check_store_exact, free_port, load_totals, log, read_log,
                     scrape_metrics, wait_port, wait_until)

RESULTS = 40_000
AGENTS = 4
PUBLISH_S = 10     # the agents spread their results over about this long
KILL_AT_S = (2.5, 6.5)  # after the load starts
DOWN_S = 1.5       # the broker stays dead this long each time


def stored(port):
    return scrape_metrics(port).get("mutuo_receiver_results_stored_total", 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()

    with System(args.bin_dir, "drill-broker") as s:
        s.start_broker()
        conf = os.path.join(s.broker_dir, "mosquitto.conf")
        with open(conf) as f:
            assert re.search(r"(?m)^persistence true$", f.read()), "the broker runs without persistence"
        s.provision("service", "receiver")
        for i in range(AGENTS):
            s.provision("agent", f"sim-{i}")
        store = os.path.join(s.dir, "store")
        mport = free_port()
        s.spawn("receiver", [s.program("receiver/mutuo-receiver"), "--broker", s.broker_uri,
                             "--token-file", s.token_file("receiver"), "--store", store,
                             "--metrics-listen", f"127.0.0.1:{mport}", "--stats-every-s", "5"])
        wait_until("receiver connected", lambda: "connected to" in read_log(s, "receiver"), 15)

        load = s.spawn("load", [s.program("bench/mutuo-receiver-load"), "--broker", s.broker_uri,
                                "--agents", str(AGENTS), "--prefix", "sim",
                                "--token-dir", os.path.join(s.broker_dir, "secrets"),
                                "--buffer-dir", os.path.join(s.dir, "buffers"),
                                "--results", str(RESULTS), "--per-batch", "50",
                                "--resend-after-ms", "1500", "--max-resend-after-ms", "3000",
                                "--rate", str(RESULTS // PUBLISH_S), "--timeout-s", "90"])
        started = time.monotonic()
        recoveries = []
        for at in KILL_AT_S:
            time.sleep(max(0.0, started + at - time.monotonic()))
            assert load.poll() is None, "the load finished before the broker was killed"
            before = stored(mport)
            s.kill("mosquitto", 9)
            time.sleep(DOWN_S)
            s.spawn("mosquitto", ["mosquitto", "-c", conf])
            back = time.monotonic()
            wait_port(s.mqtt_port)
            # Recovered: the receiver stores results again (reconnected, subscribed,
            # the agents reconnected and resent what was not confirmed).
            wait_until("the receiver stores again after the broker restart",
                       lambda: stored(mport) > before + 500, 30, 0.1)
            recoveries.append(time.monotonic() - back)
            log(f"broker restarted; receiver storing again {recoveries[-1]:.1f}s later")

        load.wait(timeout=120)
        totals = load_totals(s)
        m = scrape_metrics(mport)
        dup_batches = int(m.get('mutuo_receiver_batches_total{outcome="duplicate"}', 0))
        rejected = {k: v for k, v in m.items() if k.startswith("mutuo_receiver_rejected")}
        assert not rejected, f"the receiver rejected something: {rejected}"
        assert read_log(s, "mosquitto").count("mosquitto version") >= 3, "the broker was not restarted"
        s.kill("receiver", 15)
        assert s.procs["receiver"].returncode == 0, "the receiver did not exit cleanly"

        found = check_store_exact(s, store, RESULTS)

        print(f"DRILL broker_restart: results sent={RESULTS} stored={found['raw_results']} "
              f"duplicated_in_store={found['raw_extra_seq']} lost={RESULTS - found['raw_results']}; "
              f"broker SIGKILLed {len(KILL_AT_S)}x, down {DOWN_S}s each; "
              f"recovery (broker back -> storing again) "
              f"{', '.join(f'{r:.1f}s' for r in recoveries)}; "
              f"batches resent by agents={totals['batches_resent']}, "
              f"re-confirmed without a second write={dup_batches}; "
              f"all confirmed after {totals['elapsed_s']:.1f}s", flush=True)
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
