"""receiver_survives_sigkill_without_losing_or_duplicating_results

100,000 results published by simulated agents that use the agent's own
buffer-and-resend code (common/delivery, via bench's mutuo-receiver-load),
while the receiver is SIGKILLed five times at random moments and restarted.
The store must end with exactly 100,000 raw results, none stored twice, and
every series' minute and hour rollups must count exactly its raw results.

Then the same again with Mosquitto's queue limit set so small that the broker
drops messages (it logs "Outgoing messages are being dropped"): still exactly
100,000, because only the receiver's confirmation after its write lets an agent
forget a batch.
"""

import argparse
import json
import os
import random
import re
import subprocess
import time
import urllib.request

from harness import (BROKER_TOOL, System, check_store_exact, free_port, log, read_log, wait_port,
                     wait_until)

RESULTS = 100_000
AGENTS = 4
KILLS = 5
PUBLISH_S = 10  # the agents spread their results over this many seconds


def start_broker(sys_, max_queued=None):
    subprocess.run([BROKER_TOOL, "init", sys_.broker_dir, "--port", str(sys_.mqtt_port)],
                   check=True, stdout=subprocess.DEVNULL)
    conf = os.path.join(sys_.broker_dir, "mosquitto.conf")
    if max_queued is not None:
        with open(conf) as f:
            text = f.read()
        text = re.sub(r"(?m)^max_queued_messages .*$", f"max_queued_messages {max_queued}", text)
        text = re.sub(r"(?m)^max_inflight_messages .*$", "max_inflight_messages 5", text)
        with open(conf, "w") as f:
            f.write(text)
    sys_.spawn("mosquitto", ["mosquitto", "-c", conf])
    wait_port(sys_.mqtt_port)


def run(bin_dir, label, max_queued, rng):
    with System(bin_dir, "receiver-kills-" + label) as sys_:
        start_broker(sys_, max_queued)
        sys_.provision("service", "receiver")
        for i in range(AGENTS):
            sys_.provision("agent", f"sim-{i}")
        store = os.path.join(sys_.dir, "store")
        metrics_port = free_port()
        receiver_argv = [sys_.program("receiver/mutuo-receiver"), "--broker", sys_.broker_uri,
                         "--token-file", sys_.token_file("receiver"), "--store", store,
                         "--metrics-listen", f"127.0.0.1:{metrics_port}", "--stats-every-s", "5"]
        receiver = sys_.spawn("receiver", receiver_argv)
        wait_until("receiver connected", lambda: "connected to" in read_log(sys_, "receiver"), 15)

        load = sys_.spawn("load", [sys_.program("bench/mutuo-receiver-load"), "--broker",
                                   sys_.broker_uri, "--agents", str(AGENTS), "--prefix", "sim",
                                   "--token-dir", os.path.join(sys_.broker_dir, "secrets"),
                                   "--buffer-dir", os.path.join(sys_.dir, "buffers"),
                                   "--results", str(RESULTS), "--per-batch", "50",
                                   "--resend-after-ms", "1500", "--max-resend-after-ms", "3000",
                                   "--rate", str(RESULTS // PUBLISH_S), "--timeout-s", "100"])
        # Five kills at random moments while the agents publish (PUBLISH_S seconds).
        started = time.monotonic()
        for at in sorted(rng.uniform(0.3, PUBLISH_S - 1.0) for _ in range(KILLS)):
            time.sleep(max(0.0, started + at - time.monotonic()))
            assert load.poll() is None, "the load finished before the kills"
            sys_.kill("receiver", 9)
            time.sleep(rng.uniform(0.0, 0.5))
            receiver = sys_.spawn("receiver", receiver_argv)

        load.wait(timeout=120)
        out = [l for l in read_log(sys_, "load").splitlines() if l.startswith("{")]
        assert out, "the load tool printed no totals"
        totals = json.loads(out[-1])
        log(f"load: {totals}")
        assert totals["all_confirmed"], totals
        assert totals["results_dropped"] == 0 and totals["results_expired"] == 0, totals
        # The last receiver run serves its figures on /metrics.
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
            metrics = r.read().decode()
        for name in ("mutuo_receiver_results_stored_total", "mutuo_receiver_write_seconds_count",
                     'mutuo_store_keys{family="raw"}', "mutuo_receiver_queue_results"):
            assert re.search(rf"^{re.escape(name)} \d", metrics, re.M), f"{name} not in /metrics"
        sys_.kill("receiver", 15)
        assert receiver.returncode == 0, f"receiver exited with {receiver.returncode}"

        found = check_store_exact(sys_, store, RESULTS)
        assert found["raw_series"] == AGENTS * 50, found
        if max_queued is not None:
            assert "Outgoing messages are being dropped" in read_log(sys_, "mosquitto"), \
                "the small queue never dropped a message: the second run proves nothing"
        return totals


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    log(f"seed {seed}")
    rng = random.Random(seed)
    run(args.bin_dir, "default-queue", None, rng)
    totals = run(args.bin_dir, "small-queue", 10, rng)
    assert totals["batches_resent"] > 0, totals
    log("ok")


if __name__ == "__main__":
    main()
