"""hostile_agent_is_refused_and_counted_while_everyone_else_is_served

An authenticated agent, mallory, attacks over the real bus (real Mosquitto,
receiver, tracker, dashboard and two real agents): malformed JSON, NaN and
Infinity, deep nesting, negative, fractional and huge numbers, wrong types,
duplicate keys (refused), unicode tricks in ids and names, a 1.5 MB batch (over the
codec's 1 MiB), a 10 MB payload (over the broker's max_packet_size), hostile
retained status messages, and a flood of thousands of messages per second.

Meanwhile a well-behaved publisher, honest, sends numbered valid batches.
Asserted:
  - each hostile batch is rejected and counted exactly once under its reason
    in the receiver's /metrics (mutuo_receiver_rejected_batches_total);
  - the 10 MB payload never reaches the receiver (the broker refuses it);
  - nothing of mallory's is stored, no hostile status makes it a peer;
  - every one of honest's batches is confirmed on acks/honest (stored);
  - the real agents stay online in the dashboard, keep being assigned by the
    tracker, and their results keep arriving in /api/matrix;
  - receiver, tracker, dashboard and broker are all still running.

Options: --flood N (hostile messages in the flood, default 20000),
--honest N (valid batches, default 300).
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from harness import System, free_port, log, wait_until

GOOD = ["good-1", "good-2"]


def batch(agent, n, ts, target="good-1", **fields):
    r = {"peer": target, "probe": "udp", "ts": ts, "sent": 10, "recv": 10,
         "rtt_ms": {"min": 1.0, "avg": 2.0, "max": 3.0}, "jitter_ms": 0.1}
    r.update(fields)
    return json.dumps({"v": 1, "agent": agent, "batch": n, "results": [r]},
                      separators=(",", ":"), ensure_ascii=False)


def hostile_catalogue(now):
    """(reason the receiver must count, payload) pairs; each payload one line."""
    ok = batch("mallory", 1, now)
    deep = "[" * 40 + "]" * 40
    cases = [
        # Not JSON, or not a JSON object.
        ("malformed_json", "{not json"),
        ("malformed_json", ok[:-1]),
        ("malformed_json", ok + "}"),
        ("malformed_json", ok.replace('"sent":10', '"sent":NaN')),
        ("malformed_json", ok.replace('"jitter_ms":0.1', '"jitter_ms":Infinity')),
        ("malformed_json", ok.replace('"jitter_ms":0.1', '"jitter_ms":-Infinity')),
        ("malformed_json", '{"v":1,"agent":"mallory","batch":1,"results":' + deep + "}"),
        ("malformed_json", "[" * 100000),
        ("malformed_json", '"just a string"'),
        ("malformed_json", "[1,2,3]"),
        ("malformed_json", "null"),
        ("malformed_json", ok.encode().replace(b'"mallory"', b'"mall\xffory"')),  # invalid UTF-8
        ("malformed_json", ok.replace('"mallory"', '"mall\\u006fry\\ud800"')),   # lone surrogate
        ("malformed_json", ok.replace('"batch":1', '"batch":1e400')),             # overflows a double
        # Valid JSON, invalid message.
        ("schema", "{}"),
        ("schema", ok.replace('"v":1', '"v":2')),
        ("schema", ok.replace('"v":1', '"v":"1"')),
        ("schema", ok.replace('"batch":1', '"batch":-1')),
        ("schema", ok.replace('"batch":1', '"batch":1.5')),
        ("schema", ok.replace('"batch":1', '"batch":18446744073709551616')),
        ("schema", ok.replace('"sent":10', '"sent":-10')),
        ("schema", ok.replace('"sent":10', '"sent":4294967306')),
        ("schema", ok.replace('"sent":10', '"sent":"10"')),
        ("schema", ok.replace('"jitter_ms":0.1', '"jitter_ms":1e308')),
        ("schema", ok.replace('"jitter_ms":0.1', '"jitter_ms":-0.1')),
        ("schema", ok.replace('"ts":%d' % now, '"ts":-%d' % now)),
        ("schema", ok.replace('"ts":%d' % now, '"ts":99999999999999999999')),
        ("schema", ok.replace('"results":[', '"results":{"x":[').replace("]}", "]}}", 1)),
        ("schema", ok.replace('"probe":"udp"', '"probe":["udp"]')),
        ("schema", ok.replace('"probe":"udp"', '"probe":"smtp"')),
        # Duplicate keys: refused whole, whatever the values (common/messages/codec.h),
        # so no reader can be fooled by taking the first where another takes the last.
        ("schema", ok.replace('"sent":10', '"sent":10,"sent":-1')),
        ("schema", ok.replace('"sent":10', '"sent":10,"sent":10')),
        ("schema", ok.replace('"agent":"mallory"', '"agent":"mallory","agent":"MALLORY"')),
        ("schema", ok.replace('"agent":"mallory"', '"agent":"mallory","agent":"good-1"')),
        ("schema", ok.replace('"agent":"mallory"', '"agent":"good-1","agent":"mallory"')),
        ("schema", ok.replace('"min":1.0', '"min":1.0,"min":1.0')),
        ("schema", ok.replace('"agent":"mallory"', '"agent":"mallory","\\u0061gent":"mallory"')),
        # Unicode tricks in ids and names.
        ("schema", batch("mall\u043ery", 1, now)),                       # Cyrillic o
        ("schema", batch("\uff4d\uff41\uff4c\uff4c\uff4f\uff52\uff59", 1, now)),  # fullwidth
        ("schema", batch("mallory\u200b", 1, now)),                      # zero-width space
        ("schema", batch("mallory", 1, now, target="\u202egood-1")),     # RTL override
        ("schema", batch("mallory", 1, now, target="good-1\u0000")),     # NUL
        ("schema", batch("mallory", 1, now, target="Good-1")),
        ("schema", batch("mallory", 1, now, target="good/1")),
        ("schema", batch("mallory", 1, now, target="g" * 64)),
        ("schema", batch("mallory", 1, now, error="\u0007bell")),
        ("schema", batch("mallory", 1, now, error="x" * 300)),
        # Valid message naming someone else: the topic is the trusted id.
        ("agent_mismatch", batch("good-1", 1, now)),
        ("agent_mismatch", batch("honest", 1, now)),
    ]
    cases = [(r, p if isinstance(p, bytes) else p.encode()) for r, p in cases]
    for reason, payload in cases:
        assert b"\n" not in payload, payload
    return cases


def receiver_metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r'^(mutuo_receiver_\w+)(\{[^}]*\})?\s+([0-9.e+-]+)$', line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def rejected(metrics, reason):
    return metrics.get(f'mutuo_receiver_rejected_batches_total{{reason="{reason}"}}', 0)


def pub_argv(s, client, user, topic, retain=False):
    """mosquitto_pub publishing each line of its input as one QoS 1 message."""
    argv = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(s.mqtt_port), "-V", "5", "-i", client,
            "-u", user, "-P", s.token(user), "-q", "1", "-t", topic, "-l"]
    return argv + (["-r"] if retain else [])


def pub_lines(s, client, user, topic, lines, retain=False, timeout=120):
    """Publishes each of `lines` (bytes) over one connection; returns (exit code,
    output, seconds taken)."""
    start = time.monotonic()
    out = subprocess.run(pub_argv(s, client, user, topic, retain), input=b"\n".join(lines) + b"\n",
                         capture_output=True, timeout=timeout)
    return out.returncode, (out.stdout + out.stderr).decode(errors="replace"), time.monotonic() - start


def pub_file(s, client, topic, path):
    argv = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(s.mqtt_port), "-V", "5",
            "-i", client, "-u", client, "-P", s.token(client), "-q", "1", "-t", topic,
            "-f", path]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout + out.stderr


def raw_publish_refused(port, client, password, topic, payload):
    """Sends one MQTT 3.1.1 QoS 0 PUBLISH of `payload` over a raw socket, without
    any client-side size check; True when the broker closes the connection."""
    def length(n):
        out = bytearray()
        while True:
            n, digit = n >> 7, n & 0x7F
            out.append(digit | (0x80 if n else 0))
            if not n:
                return bytes(out)

    def field(b):
        return len(b).to_bytes(2, "big") + b
    body = field(b"MQTT") + bytes([4, 0xC2]) + (30).to_bytes(2, "big") + \
        field(client.encode()) + field(client.encode()) + field(password.encode())
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"\x10" + length(len(body)) + body)
        connack = sock.recv(4)
        assert connack[:2] == b"\x20\x02" and connack[3] == 0, connack
        publish = field(topic.encode()) + payload
        try:
            sock.sendall(b"\x30" + length(len(publish)) + publish)
            sock.settimeout(5)
            return sock.recv(1) == b""
        except (BrokenPipeError, ConnectionResetError):
            return True
        except socket.timeout:
            return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--flood", type=int, default=20000)
    ap.add_argument("--honest", type=int, default=300)
    args = ap.parse_args()

    with System(args.bin_dir, "hostile") as s:
        s.start_broker()
        metrics_port = free_port()
        s.start_receiver(extra=("--metrics-listen", f"127.0.0.1:{metrics_port}"))
        s.start_tracker(interval_s=1)
        s.start_dashboard()
        for a in GOOD:
            s.start_agent(a)
        s.provision("agent", "mallory")
        s.provision("service", "simulator")  # honest publishes through the load-test account

        def good_pair_ts():
            cells = {(c["observer"], c["target"]): c["ts"] for c in s.api("/api/matrix")["cells"]}
            return cells.get(("good-1", "good-2")), cells.get(("good-2", "good-1"))
        wait_until("both real agents measured in /api/matrix", lambda: all(good_pair_ts()), 40)
        before_attack = good_pair_ts()
        wait_until("receiver metrics", lambda: receiver_metrics(metrics_port), 10)
        m0 = receiver_metrics(metrics_port)
        log(f"system up; receiver metrics on :{metrics_port}")

        # honest listens for its confirmations (as the simulator account, any client id).
        s.spawn("honest-acks", ["stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", str(s.mqtt_port),
                                       "-V", "5", "-i", "honest-acks", "-u", "simulator",
                                       "-P", s.token("simulator"), "-q", "1",
                                       "-t", "mutuo/v1/acks/honest", "-d"])
        wait_until("honest subscribed to its acks",
                   lambda: "SUBACK" in open(s.log_path("honest-acks"), errors="replace").read(), 10)

        now = int(time.time() * 1000)
        catalogue = hostile_catalogue(now)
        expected = {}
        for reason, _ in catalogue:
            expected[reason] = expected.get(reason, 0) + 1

        # 1. Each hostile payload once, on mallory's own results topic.
        rc, out, _ = pub_lines(s, "mallory", "mallory", "mutuo/v1/results/mallory",
                               [p for _, p in catalogue])
        assert rc == 0, out

        def counted(exp):
            m = receiver_metrics(metrics_port)
            got = {r: rejected(m, r) - rejected(m0, r) for r in exp}
            return got == exp and got
        got = wait_until(f"every hostile batch counted by reason {expected}",
                         lambda: counted(expected), 30)
        log(f"hostile catalogue ({len(catalogue)} payloads) rejected and counted: {got}")

        # 2. A 1.5 MB batch passes the broker (max_packet_size 2 MiB) and is refused
        #    by the receiver as oversize; a 10 MB payload is refused by the broker.
        big = os.path.join(s.dir, "big.json")
        huge = os.path.join(s.dir, "huge.json")
        filler = "x" * 200
        with open(big, "w") as f:
            results = [json.loads(batch("mallory", 2, now, error=filler))["results"][0]] * 4000
            f.write(json.dumps({"v": 1, "agent": "mallory", "batch": 2, "results": results}))
        assert 1 << 20 < os.path.getsize(big) < 2 << 20
        rc, out = pub_file(s, "mallory", "mutuo/v1/results/mallory", big)
        assert rc == 0, out
        expected["oversize"] = 1
        wait_until("the 1.5 MB batch counted as oversize", lambda: counted(expected), 30)
        huge = b'{"v":1,"agent":"mallory","batch":3,"results":[],"pad":"' + b"y" * (10 << 20) + b'"}'
        assert raw_publish_refused(s.mqtt_port, "mallory", s.token("mallory"),
                                   "mutuo/v1/results/mallory", huge), "the broker took 10 MB"
        time.sleep(1)
        assert counted(expected), receiver_metrics(metrics_port)
        assert s.procs["mosquitto"].poll() is None, "the broker died on a 10 MB payload"
        log("1.5 MB refused by the receiver (oversize), 10 MB never reached it")

        # 3. Hostile retained status messages: nobody may take mallory for a peer.
        status_lines = [l.encode() for l in [
            "{bad", '{"v":1,"agent":"mallory","state":"online","ts":1,"addrs":["0.0.0.0/0"],"echo_port":1}',
            '{"v":1,"agent":"mallory","state":"online","ts":1,"addrs":["127.0.0.1"],"echo_port":70000}',
            '{"v":1,"agent":"good-1","state":"online","ts":1,"addrs":["127.0.0.1"],"echo_port":7}',
            '{"v":1,"agent":"mallory","agent":"Mallory","state":"online","ts":1,"addrs":["127.0.0.1"],"echo_port":7}',
            '{"v":1,"agent":"mallory","state":"online","ts":1,"addrs":["127.0.0.1"],"echo_port":7,'
            '"labels":{"\u202esite":"x"}}',
            '{"v":1,"agent":"mallory","state":"online","ts":NaN,"addrs":["127.0.0.1"],"echo_port":7}',
        ]]
        rc, out, _ = pub_lines(s, "mallory", "mallory", "mutuo/v1/agents/mallory/status",
                               status_lines, retain=True)
        assert rc == 0, out

        # 4. The flood: mallory cycles through the catalogue while honest publishes
        #    numbered valid batches at the same time.
        flood = [catalogue[i % len(catalogue)] for i in range(args.flood)]
        for reason, _ in flood:
            expected[reason] += 1
        honest_lines = [batch("honest", n, now + n, target="good-2").encode()
                        for n in range(args.honest)]
        flooder = subprocess.Popen(pub_argv(s, "mallory", "mallory", "mutuo/v1/results/mallory"),
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
        flood_start = time.monotonic()
        flood_out = []
        feeder = threading.Thread(target=lambda: flood_out.append(flooder.communicate(
            b"\n".join(p for _, p in flood) + b"\n", timeout=120)[0]))
        feeder.start()
        rc, out, honest_s = pub_lines(s, "honest-pub", "simulator", "mutuo/v1/results/honest",
                                      honest_lines)
        feeder.join(130)
        flood_s = time.monotonic() - flood_start
        assert rc == 0, out
        assert flooder.returncode == 0, flood_out
        log(f"flood: {args.flood} hostile messages in {flood_s:.1f} s "
            f"({args.flood / flood_s:.0f}/s), {args.honest} honest batches in {honest_s:.1f} s")
        got = wait_until("every flood message counted", lambda: counted(expected), 90)
        log(f"all rejections counted: {got}")

        # honest lost nothing: every batch confirmed (= in the store).
        def confirmed():
            seen = set()
            with open(s.log_path("honest-acks"), errors="replace") as f:
                for line in f:
                    if line.startswith("{"):
                        seen.update(json.loads(line)["batches"])
            return seen
        wait_until(f"all {args.honest} honest batches confirmed",
                   lambda: confirmed() >= set(range(args.honest)), 60)
        assert confirmed() == set(range(args.honest)), sorted(confirmed() - set(range(args.honest)))
        m = receiver_metrics(metrics_port)
        stored = m.get('mutuo_receiver_batches_total{outcome="stored"}', 0) - \
            m0.get('mutuo_receiver_batches_total{outcome="stored"}', 0)
        assert stored >= args.honest, (stored, args.honest)
        log(f"honest: {args.honest}/{args.honest} batches confirmed; {stored:.0f} batches stored in all")

        # Everyone else is still served.
        for name in ["mosquitto", "receiver", "tracker", "dashboard", *GOOD]:
            assert s.procs[name].poll() is None, f"{name} exited with {s.procs[name].returncode}"
        online = {a["id"]: a["state"] for a in s.api("/api/agents")["agents"]}
        assert all(online.get(a) == "online" for a in GOOD), online
        assert online.get("mallory") != "online", online
        peers = s.retained("mutuo/v1/peers/+")
        peer_ids = sorted(t.rsplit("/", 1)[1] for t, v in peers.items() if v)
        assert peer_ids == GOOD, peers
        wait_until("fresh results from the real agents after the attack",
                   lambda: all(a and b and a > b for a, b in zip(good_pair_ts(), before_attack)), 30)
        cells = s.api("/api/matrix")["cells"]
        assert not any(c["observer"] == "mallory" for c in cells), cells
        log("receiver, tracker, dashboard and the real agents kept working; mallory stored nothing")
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
