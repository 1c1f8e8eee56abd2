"""drill_receiver_disk_full_refuses_cleanly_and_resumes_by_itself

Fault drill (docs/hardening.md, "Fault drills"). The receiver's store lives on
a small filesystem (a tmpfs this test mounts under its temporary directory and
unmounts at the end; it needs root, and is skipped otherwise). Once the
receiver runs, a filler file takes every free byte of that filesystem; four
simulated agents then publish RESULTS results through the agent's own
buffer-and-resend code (common/delivery, via bench's mutuo-receiver-load).
After FULL_S seconds the filler is deleted, as an operator freeing space would.

Asserted, as a user would check it:
  - while the disk is full the receiver logs a clear error ("disk full: 0 MiB
    free for the store ..."), counts the batches it could not write
    (rejected_batches_total{reason="store_error"}), confirms none of them (a
    reader sees no confirmation published), and keeps running;
  - once space returns it stores again by itself (no restart, no human);
  - the agents end with every batch confirmed and none dropped;
  - the store is not corrupted: exactly RESULTS raw results (nothing lost, none
    stored twice), every series' rollups count exactly its raw results, every
    value decodes, and the receiver exits cleanly;
  - the alert history, a second RocksDB under the store and so on the same full
    disk, keeps no RocksDB LOG file there (its log goes to the receiver's);
  - a dashboard reading that store, its readers' directories on the same full
    disk, keeps answering the matrix throughout, keeps no LOG file there, and
    shows the results stored after space returned.

Prints one "DRILL receiver_disk_full:" line with the measured outcome.
"""

import argparse
import os
import subprocess
import sys
import time

from harness import (System, check_store_exact, free_port, load_totals, log, read_log,
                     scrape_metrics, wait_until)

SKIP = 77  # SKIP_RETURN_CODE in tests/integration/hardening.cmake
RESULTS = 20_000
AGENTS = 4
FS_MB = 160        # the write-ahead log preallocates ~70 MiB; the receiver keeps 64 MiB free
FULL_S = 6         # how long the disk stays full once the receiver has hit it


def fill(path):
    """Writes `path` until the filesystem refuses another byte; returns its size."""
    written = 0
    with open(path, "wb", buffering=0) as f:
        for chunk in (1 << 20, 1 << 12, 1):
            block = b"\0" * chunk
            while True:
                try:
                    n = f.write(block)
                except OSError:
                    break
                written += n
                if n < chunk:
                    break
    return written


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: the disk-full drill mounts a small tmpfs for the receiver's store, "
              "which needs root; run the tests as root (CI does) to include it", flush=True)
        return SKIP

    with System(args.bin_dir, "drill-disk-full") as s:
        mnt = os.path.join(s.dir, "small-disk")
        os.makedirs(mnt)
        out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FS_MB}m,mode=0755", "tmpfs", mnt],
                             capture_output=True, text=True)
        if out.returncode != 0:
            print(f"SKIP: cannot mount a tmpfs here ({out.stderr.strip()}); the disk-full drill "
                  "needs a filesystem it can fill", flush=True)
            return SKIP
        try:
            return drill(s, mnt)
        finally:
            s.stop_all()  # nothing may keep a file open on the mount
            subprocess.run(["umount", mnt], check=False)
            if os.path.ismount(mnt):
                subprocess.run(["umount", "-l", mnt], check=False)
            log(f"unmounted {mnt}")


def drill(s, mnt):
    s.start_broker()
    s.provision("service", "receiver")
    for i in range(AGENTS):
        s.provision("agent", f"sim-{i}")
    store = os.path.join(mnt, "store")
    mport = free_port()
    # The alert history (receiver/health) is a second RocksDB, by default under
    # the store, so it lives on the small disk too: it must neither abort the
    # receiver there (RocksDB 7.8's file logger asserts once a LOG write failed
    # with ENOSPC; both databases forward their log to the receiver's instead)
    # nor keep it from exiting cleanly.
    history = os.path.join(store, "alert-history")
    s.spawn("receiver", [s.program("receiver/mutuo-receiver"), "--broker", s.broker_uri,
                         "--token-file", s.token_file("receiver"), "--store", store,
                         "--metrics-listen", f"127.0.0.1:{mport}", "--stats-every-s", "5"])
    wait_until("receiver connected", lambda: "connected to" in read_log(s, "receiver"), 15)
    # A user's dashboard on the same store: its readers' directories (next to
    # the store and the alert history) are on the small disk too. It logs every
    # catch-up with the receiver (twice a second while read), so a file log
    # there would fail at once when the disk fills (and RocksDB's asserts).
    s.start_dashboard(store=store)
    user = s.dashboard_client()
    user.get("/api/matrix?probe=udp")  # opens the store's reader
    user.get("/api/alerts/history")  # and the alert history's

    # A reader watching every confirmation the receiver publishes, with arrival times.
    acks_log = open(os.path.join(s.dir, "acks.txt"), "wb")
    s.provision("service", "reader")
    s.procs["acks-watch"] = subprocess.Popen(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(s.mqtt_port), "-V", "5", "-i", "reader",
         "-u", "reader", "-P", s.token("reader"), "-q", "1", "-t", "mutuo/v1/acks/+",
         "-F", "%U %p"], stdout=acks_log, stderr=subprocess.STDOUT, start_new_session=True)

    # The disk fills up before the agents' results arrive. (Filled later, the
    # results would still fit: RocksDB reserves about 70 MiB for its write-ahead
    # log with fallocate on the first write and writes into that space.)
    filler = os.path.join(mnt, "filler")
    filled = fill(filler)
    log(f"disk full: filler of {filled >> 20} MiB, {free_bytes(mnt)} bytes free")
    load = s.spawn("load", [s.program("bench/mutuo-receiver-load"), "--broker", s.broker_uri,
                            "--agents", str(AGENTS), "--prefix", "sim",
                            "--token-dir", os.path.join(s.broker_dir, "secrets"),
                            "--buffer-dir", os.path.join(s.dir, "buffers"),
                            "--results", str(RESULTS), "--per-batch", "50",
                            "--resend-after-ms", "1000", "--max-resend-after-ms", "2000",
                            "--rate", str(RESULTS // 8), "--timeout-s", "90"])
    wait_until("the receiver hits the full disk",
               lambda: scrape_metrics(mport).get('mutuo_receiver_rejected_batches_total{reason="store_error"}', 0) > 0,
               30, 0.1)
    hit = time.monotonic()
    stored_at_hit = scrape_metrics(mport).get("mutuo_receiver_results_stored_total", 0)
    log(f"the receiver hit the full disk after storing {int(stored_at_hit)} results")
    time.sleep(1.0)  # confirmations of writes finished before the disk filled are on their way
    acks_mark = os.path.getsize(acks_log.name)
    matrix_reads = 0
    for _ in range(FULL_S * 4):  # the user keeps watching the matrix
        user.get("/api/matrix?probe=udp")
        user.get("/api/alerts/history")
        matrix_reads += 1
        time.sleep(0.25)
    assert s.procs["dashboard"].poll() is None, "the dashboard died on a full disk"
    m = scrape_metrics(mport)
    assert s.procs["receiver"].poll() is None, "the receiver died on a full disk"
    failed = int(m.get('mutuo_receiver_rejected_batches_total{reason="store_error"}', 0))
    stored_full = m.get("mutuo_receiver_results_stored_total", 0)
    assert stored_full == stored_at_hit, \
        f"results counted as stored while the disk was full: {stored_at_hit} -> {stored_full}"
    with open(acks_log.name, "rb") as f:
        f.seek(acks_mark)
        acked_while_full = f.read().decode(errors="replace").splitlines()
    assert not acked_while_full, f"confirmations published while the disk was full: {acked_while_full[:3]}"
    rlog = read_log(s, "receiver")
    assert "disk full" in rlog, rlog[-3000:]
    errors = [line for line in rlog.splitlines() if "not stored" in line]
    log(f"while full: {failed} batch writes refused and not confirmed, {len(errors)} error lines, "
        f"e.g. {errors[0].strip() if errors else None}")

    os.unlink(filler)
    freed = time.monotonic()
    full_s = freed - hit
    log(f"filler deleted: {free_bytes(mnt) >> 20} MiB free")
    wait_until("the receiver stores again by itself",
               lambda: scrape_metrics(mport).get("mutuo_receiver_results_stored_total", 0) > stored_full, 40, 0.1)
    resumed = time.monotonic() - freed
    log(f"the receiver stores again {resumed:.1f}s after space returned")

    load.wait(timeout=120)
    totals = load_totals(s)
    wait_until("the dashboard shows every agent's results",
               lambda: len({c["observer"] for c in user.get("/api/matrix?probe=udp").get("cells", [])}) == AGENTS,
               20, 0.5)
    user.get("/api/alerts/history")
    assert s.procs["dashboard"].poll() is None, "the dashboard exited"
    for name in ("store.dashboard-secondary", "store.dashboard-secondary-alert-history"):
        d = os.path.join(mnt, name)  # the readers' directories, beside the store
        assert os.path.isdir(d), f"the dashboard did not open its reader in {d}: {os.listdir(mnt)}"
        assert not [f for f in os.listdir(d) if f.startswith("LOG")], \
            f"the dashboard keeps a RocksDB LOG file on the full disk: {d}"
    s.kill("dashboard", 15)
    m = scrape_metrics(mport)
    assert s.procs["receiver"].poll() is None, "the receiver exited"
    s.kill("receiver", 15)
    assert s.procs["receiver"].returncode == 0, "the receiver did not exit cleanly"

    found = check_store_exact(s, store, RESULTS)
    assert os.path.isdir(history), f"no alert history at {history}"
    assert not os.path.exists(os.path.join(history, "LOG")), \
        "the alert history keeps a RocksDB LOG file on the full disk"

    print(f"DRILL receiver_disk_full: results sent={RESULTS} stored={found['raw_results']} "
          f"duplicated_in_store={found['raw_extra_seq']} lost={RESULTS - found['raw_results']}; "
          f"disk full for {full_s:.1f}s after the first refused write: "
          f"{failed} batch writes refused, 0 confirmed, receiver up, dashboard up "
          f"({matrix_reads} matrix reads answered); "
          f"recovery (space freed -> storing again) {resumed:.1f}s without a restart; "
          f"batches resent by agents={totals['batches_resent']}; "
          f"all confirmed after {totals['elapsed_s']:.1f}s", flush=True)
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
