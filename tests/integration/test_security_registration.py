"""agent_registration_is_enforced_by_the_broker

Agents registered through the dashboard API get exactly their own rights, and
the broker enforces them; every check looks at what a full-rights subscriber
(the broker's admin account on '#') or the agent itself actually receives, not
only at return codes:

- A publishing to B's results or status, to peers/, assign/ or registry/:
  nothing arrives; A reading B's assignment: nothing arrives;
- a wrong token, an unknown id, ids with '+', '#' or '/', anonymous: refused at
  connect; such ids are refused at registration with a clear message;
- rotating a token or disabling an agent kicks the running agent at once and its
  old token is refused; deleting does the same and removes it for good;
- registrations survive a dashboard restart and a broker restart;
- no token appears in any log, in /api answers after creation, or in plain form
  in the dashboard's store or the broker's files.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

from harness import System, free_port, log, wait_port, wait_until


def sub_argv(s, client, password, filters, wait_s=None, user=None):
    argv = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(s.mqtt_port), "-V", "5", "-v", "-q", "1"]
    if client is not None:
        argv += ["-i", client, "-u", user or client]
    if password is not None:
        argv += ["-P", password]
    for f in filters:
        argv += ["-t", f]
    if wait_s is not None:
        argv += ["-W", str(wait_s)]
    return argv


def pub(s, client, password, topic, payload, retain=False):
    argv = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(s.mqtt_port), "-V", "5", "-q", "1",
            "-i", client, "-u", client, "-P", password, "-t", topic, "-m", payload, "-d"]
    if retain:
        argv.append("-r")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    return out.returncode, out.stdout + out.stderr


def connect_refused(s, client, password):
    """True when the broker refuses this connect (client None: anonymous)."""
    out = subprocess.run(sub_argv(s, client, password, ["mutuo/v1/peers/+"], wait_s=1),
                         capture_output=True, text=True, timeout=15)
    text = (out.stdout + out.stderr).lower()
    return out.returncode != 0 and "not authori" in text


def connect_accepted(s, client, password):
    out = subprocess.run(sub_argv(s, client, password, ["mutuo/v1/peers/+"], wait_s=1),
                         capture_output=True, text=True, timeout=15)
    return "not authori" not in (out.stdout + out.stderr).lower()


class Watch:
    """A long-running subscriber; lines() is what it has received so far."""

    def __init__(self, s, name, client, password, filters, user=None):
        self.s, self.name = s, name
        self.proc = s.spawn(name, sub_argv(s, client, password, filters, user=user))

    def lines(self):
        with open(self.s.log_path(self.name), errors="replace") as f:
            return f.read().splitlines()

    def has(self, text):
        return any(text in line for line in self.lines())

    def stop(self):
        self.s.kill(self.name, signal.SIGTERM)


def dynsec_ctrl(s, *args):
    with open(os.path.join(s.broker_dir, "secrets", "admin.token")) as f:
        password = f.read().strip()
    return subprocess.run(["mosquitto_ctrl", "-h", "127.0.0.1", "-p", str(s.mqtt_port), "-u", "admin",
                           "-P", password, "dynsec", *args],
                          capture_output=True, text=True, timeout=10).stdout


def all_bytes(path):
    data = b""
    for root, _, files in os.walk(path):
        for name in files:
            try:
                with open(os.path.join(root, name), "rb") as f:
                    data += f.read()
            except OSError:
                pass
    return data


def write_token(s, agent, token):
    path = os.path.join(s.dir, agent + ".issued-token")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return path


def start_registered_agent(s, name, agent, token_file):
    return s.spawn(name, [s.program("agent/mutuo-agent"), "--id", agent, "--broker", s.broker_uri,
                          "--token-file", token_file, "--echo-port", str(free_port(socket.SOCK_DGRAM)),
                          "--echo-bind", "127.0.0.1", "--advertise", "127.0.0.1", "--keepalive", "4"])


def agent_state(s, agent):
    for a in s.api("/api/agents")["agents"]:
        if a["id"] == agent:
            return a["state"]
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()

    with System(args.bin_dir, "registration") as s:
        s.start_broker()
        s.start_dashboard()
        s.provision("service", "tracker")
        admin = s.dashboard_client()
        tokens = []  # every token issued in this test

        # ---- registration ------------------------------------------------------
        for bad in ["a+b", "a#", "a/b", "Upper", "-x", "", "x" * 64]:
            status, body = admin.request("POST", "/api/registry", {"id": bad})
            assert status == 400 and "invalid agent id" in body["error"], (bad, status, body)
        log("ids outside [a-z0-9][a-z0-9-]{0,62} are refused at registration with a clear message")

        issued = {}
        for agent, name in [("alice", "Alice <img src=x onerror=alert(1)>"), ("bob", "Bob")]:
            status, body = admin.request("POST", "/api/registry",
                                         {"id": agent, "display_name": name, "labels": {"site": "lab"}})
            assert status == 201, (status, body)
            assert len(body["token"]) >= 22, body  # >= 128 bits of base64url
            assert f"--id {agent}" in body["command"] and "--token-file" in body["command"], body
            issued[agent] = body["token"]
            tokens.append(body["token"])
        status, body = admin.request("POST", "/api/registry", {"id": "alice"})
        assert status == 409, (status, body)
        registry = s.retained("mutuo/v1/registry/+")
        entry = json.loads(registry["mutuo/v1/registry/alice"])
        assert entry["display_name"].startswith("Alice <img") and entry["enabled"] is True, registry
        log("alice and bob registered; their retained registry entries are on the broker")

        watch = Watch(s, "watch", "watch", s.token("admin"), ["#"], user="admin")
        tracker_token = s.token("tracker")

        def marker_seen():
            pub(s, "tracker", tracker_token, "mutuo/v1/peers/zz-marker", "marker-0")
            return watch.has("marker-0")
        wait_until("the full-rights watcher to be subscribed", marker_seen, 10, interval=0.5)

        # ---- rights ------------------------------------------------------------
        # What alice may read: subscribe to everything she might try, then the
        # tracker publishes both agents' assignments; only hers may arrive.
        alice_sub = Watch(s, "alice-sub", "alice", issued["alice"],
                          ["mutuo/v1/assign/bob", "mutuo/v1/assign/+", "#", "mutuo/v1/acks/+",
                           "mutuo/v1/results/+", "mutuo/v1/assign/alice"])
        time.sleep(1)
        for i in range(3):  # the subscription may need a moment: publish until hers arrives
            pub(s, "tracker", tracker_token, "mutuo/v1/assign/bob", f"bob-assignment-{i}")
            pub(s, "tracker", tracker_token, "mutuo/v1/assign/alice", f"alice-assignment-{i}")
            time.sleep(0.5)
            if alice_sub.has("alice-assignment"):
                break
        wait_until("alice's own assignment to reach her", lambda: alice_sub.has("alice-assignment"), 5)
        assert not alice_sub.has("bob-assignment"), alice_sub.lines()
        assert watch.has("bob-assignment"), "the watcher must see bob's assignment (control)"
        alice_sub.stop()
        log("alice receives her own assignment and nothing of bob's, whatever she subscribes to")

        forbidden = [
            ("mutuo/v1/results/bob", "forged-results-bob"),
            ("mutuo/v1/agents/bob/status", "forged-status-bob"),
            ("mutuo/v1/peers/alice", "forged-peer"),
            ("mutuo/v1/assign/alice", "forged-assign"),
            ("mutuo/v1/registry/alice", "forged-registry"),
            ("mutuo/v1/acks/alice", "forged-ack"),
            ("mutuo/v1/checks/x", "forged-check"),
        ]
        for topic, payload in forbidden:
            pub(s, "alice", issued["alice"], topic, payload)
        pub(s, "alice", issued["alice"], "mutuo/v1/results/alice", "alice-own-results")
        wait_until("alice's own results to arrive", lambda: watch.has("alice-own-results"), 10)
        time.sleep(0.5)
        leaked = [p for _, p in forbidden if watch.has(p)]
        assert not leaked, f"the broker let these through: {leaked}"
        log("alice's publishes to bob's results and status, peers/, assign/, registry/, acks/ and "
            "checks/ reach nobody; her own results do")

        # ---- refused at connect ------------------------------------------------
        assert connect_refused(s, "alice", issued["bob"]), "alice with bob's token"
        assert connect_refused(s, "alice", "wrong-" + issued["alice"]), "wrong token"
        assert connect_refused(s, "nobody", issued["alice"]), "unknown id"
        for bad in ["a+b", "a#b", "a/b", "+", "#"]:
            assert connect_refused(s, bad, issued["alice"]), f"id {bad}"
        assert connect_refused(s, None, None), "anonymous"
        assert connect_accepted(s, "alice", issued["alice"]), "alice with her own token"
        carol_file = s.register_agent("carol")  # the harness helper other tests use
        with open(carol_file) as f:
            tokens.append(f.read().strip())
        assert connect_accepted(s, "carol", tokens[-1]), "carol, registered by the harness"
        assert connect_refused(s, "carol", issued["alice"]), "carol with alice's token"
        log("wrong token, unknown id, ids with + # /, anonymous: all refused at connect")

        # ---- rotate kicks and refuses the old token -----------------------------
        alice_file = write_token(s, "alice", issued["alice"])
        start_registered_agent(s, "alice-agent", "alice", alice_file)
        wait_until("alice online", lambda: agent_state(s, "alice") == "online", 15)
        status, body = admin.request("POST", "/api/registry/alice/rotate")
        assert status == 200, (status, body)
        new_alice = body["token"]
        tokens.append(new_alice)
        assert new_alice != issued["alice"]
        wait_until("alice offline after the rotation", lambda: agent_state(s, "alice") == "offline", 10)
        wait_until("the running agent to report the refusal",
                   lambda: "refused" in open(s.log_path("alice-agent")).read(), 15)
        assert connect_refused(s, "alice", issued["alice"]), "the old token still works"
        s.kill("alice-agent", signal.SIGTERM)
        write_token(s, "alice", new_alice)
        start_registered_agent(s, "alice-agent-2", "alice", alice_file)
        wait_until("alice online with the new token", lambda: agent_state(s, "alice") == "online", 15)
        log("rotation: the running agent was kicked, the old token is refused, the new one works")

        # ---- disable and enable ------------------------------------------------
        status, _ = admin.request("POST", "/api/registry/bob/disable")
        assert status == 200
        assert connect_refused(s, "bob", issued["bob"]), "a disabled agent got in"
        assert json.loads(s.retained("mutuo/v1/registry/bob")["mutuo/v1/registry/bob"])["enabled"] is False
        status, _ = admin.request("POST", "/api/registry/bob/enable")
        assert status == 200
        assert connect_accepted(s, "bob", issued["bob"]), "re-enabled bob is refused"
        log("a disabled agent is refused; enabled again, it gets in")

        # ---- secrets given in the environment ------------------------------------
        # Bob's agent takes its token from MUTUO_TOKEN, the dashboard its first
        # admin's password from MUTUO_ADMIN_PASSWORD: once read, neither is left
        # in /proc/PID/environ, which the kernel keeps from the start.
        bob = s.spawn("bob-agent", [s.program("agent/mutuo-agent"), "--id", "bob", "--broker", s.broker_uri,
                                    "--echo-port", str(free_port(socket.SOCK_DGRAM)),
                                    "--echo-bind", "127.0.0.1", "--advertise", "127.0.0.1"],
                      env={"MUTUO_TOKEN": issued["bob"]})
        wait_until("bob online with the token from his environment",
                   lambda: agent_state(s, "bob") == "online", 15)
        for name, proc, secret in [("bob's agent", bob, issued["bob"]),
                                   ("the dashboard", s.procs["dashboard"], s.admin_password)]:
            with open(f"/proc/{proc.pid}/environ", "rb") as f:
                environ = f.read()
            assert secret.encode() not in environ, f"{name} left its secret in /proc/PID/environ"
            assert b"PATH=" in environ, f"control: {name}'s environment is readable"
        s.kill("bob-agent", signal.SIGTERM)
        log("a token or password given in the environment is gone from /proc/PID/environ once read")

        # ---- restarts ------------------------------------------------------------
        # A role made by an older version lacks rights added since (here the
        # probe-now read of second opinions): a restarted dashboard adds them.
        dynsec_ctrl(s, "removeRoleACL", "agent-bob", "subscribeLiteral", "mutuo/v1/probe-now/bob")
        assert "mutuo/v1/probe-now/bob" not in dynsec_ctrl(s, "getRole", "agent-bob")
        s.kill("dashboard", signal.SIGTERM)
        s.start_dashboard()
        admin = s.dashboard_client()
        wait_until("bob's role given the probe-now right again by the restarted dashboard",
                   lambda: "mutuo/v1/probe-now/bob" in dynsec_ctrl(s, "getRole", "agent-bob"), 15)
        assert "agent bob: its role gained 1 right(s)" in open(s.log_path("dashboard")).read()
        ids = sorted(a["id"] for a in admin.get("/api/registry")["agents"])
        assert ids == ["alice", "bob", "carol"], ids
        s.kill("mosquitto", signal.SIGTERM)
        s.spawn("mosquitto-2", ["mosquitto", "-c", os.path.join(s.broker_dir, "mosquitto.conf")])
        wait_port(s.mqtt_port)
        assert connect_accepted(s, "bob", issued["bob"]), "bob refused after a broker restart"
        assert connect_refused(s, "alice", issued["alice"]), "alice's old token back after a restart"
        wait_until("registry entries after the restarts",
                   lambda: {"mutuo/v1/registry/alice", "mutuo/v1/registry/bob"} <=
                   set(s.retained("mutuo/v1/registry/+")), 15)
        wait_until("alice's agent back online after the broker restart",
                   lambda: agent_state(s, "alice") == "online", 40)
        log("registrations survive a dashboard restart and a broker restart")

        # ---- delete kicks and refuses for good -----------------------------------
        status, _ = admin.request("DELETE", "/api/registry/alice")
        assert status == 200
        wait_until("deleted alice gone from presence", lambda: agent_state(s, "alice") is None, 10)
        assert connect_refused(s, "alice", new_alice), "a deleted agent got in"
        wait_until("the running agent to report the refusal",
                   lambda: "refused" in open(s.log_path("alice-agent-2")).read(), 15)
        assert "mutuo/v1/registry/alice" not in s.retained("mutuo/v1/registry/+")
        assert [a["id"] for a in admin.get("/api/registry")["agents"]] == ["bob", "carol"]
        log("deletion: the running agent was kicked and its token is refused; its entries are gone")

        # ---- no token anywhere ---------------------------------------------------
        answers = json.dumps([admin.get("/api/registry"), admin.get("/api/agents"),
                              admin.get("/api/session"), admin.get("/api/users")])
        logs = b"".join(open(s.log_path(n), "rb").read() for n in s.procs)
        store = all_bytes(s.dashboard_data)
        broker_files = all_bytes(s.broker_dir)
        assert b"Alice <img src=x" in store, "control: the store is readable as plain bytes"
        for t in tokens:
            assert t not in answers, "a token in an /api answer"
            assert t.encode() not in logs, "a token in a log"
            assert t.encode() not in store, "a token in the dashboard's store"
            assert t.encode() not in broker_files, "a token in the broker's files"
        log(f"none of the {len(tokens)} tokens is in a log, an /api answer or a store file")
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
