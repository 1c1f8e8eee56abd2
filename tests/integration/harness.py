"""Test harness: a real mutuo system on loopback, started and stopped by PID.

A System owns a temporary directory, a Mosquitto broker configured by
broker-config/mutuo-broker, and the mutuo programs it starts. Every wait is
bounded in time; every process it started is stopped on exit, and only those.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BROKER_TOOL = os.path.join(REPO, "broker-config", "mutuo-broker")


# Programs built with the sanitizers (scripts/hardening.sh) run several times
# slower than the main build: it sets MUTUO_TEST_TIMEOUT_FACTOR, and every wait
# here, and a test's own timeouts through patience(), stretch by it.
TIMEOUT_FACTOR = max(1.0, float(os.environ.get("MUTUO_TEST_TIMEOUT_FACTOR") or 1))


def patience(seconds):
    """`seconds`, stretched for slow (sanitized) builds."""
    return seconds * TIMEOUT_FACTOR


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, predicate, timeout, interval=0.2):
    """Polls predicate() until it returns a truthy value; fails after timeout s
    (stretched by MUTUO_TEST_TIMEOUT_FACTOR)."""
    timeout = patience(timeout)
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except Exception as e:  # a server still starting, a connection refused
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def wait_port(port, timeout=10):
    def is_open():
        with socket.socket() as s:
            s.settimeout(0.2)
            return s.connect_ex(("127.0.0.1", port)) == 0
    wait_until(f"port {port}", is_open, timeout, 0.05)


def http_json(url, timeout=3):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


def scrape_metrics(port, timeout=3):
    """A service's loopback /metrics as {name{labels}: value}, mutuo_* lines only."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r'^(mutuo_\w+)(\{[^}]*\})?\s+([0-9.e+-]+)$', line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def read_log(system, name):
    """The whole log of a process the System started."""
    with open(system.log_path(name), errors="replace") as f:
        return f.read()


def load_totals(system, name="load"):
    """The totals a finished mutuo-receiver-load printed (its last JSON line),
    checked: every batch confirmed, no result dropped or expired."""
    out = [line for line in read_log(system, name).splitlines() if line.startswith("{")]
    assert out, "the load tool printed no totals"
    totals = json.loads(out[-1])
    log(f"load: {totals}")
    assert totals["all_confirmed"], totals
    assert totals["results_dropped"] == 0 and totals["results_expired"] == 0, totals
    return totals


def check_store_exact(system, store, results):
    """Runs mutuo-receiver-store-check on a closed store and asserts it holds
    exactly `results` results, none twice, rollups consistent with raw."""
    check = subprocess.run([system.program("bench/mutuo-receiver-store-check"), "--store", store],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    found = json.loads(check.stdout)
    log(f"store: {found}")
    assert found["raw_results"] == results, found
    assert found["raw_extra_seq"] == 0, found  # no result stored under a second key
    assert found["minute_count"] == results and found["hour_count"] == results, found
    assert found["series_rollup_mismatch"] == 0 and found["undecodable"] == 0, found
    return found


class DashboardClient:
    """A dashboard user's HTTP session: the session cookie and the CSRF token,
    as the page keeps them. request() returns (status, parsed JSON or None)."""

    def __init__(self, base_url):
        import http.cookiejar
        self.base = base_url.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = None

    def request(self, method, path, body=None, csrf=True, headers=None, timeout=10):
        data = None if body is None else json.dumps(body).encode()
        h = dict(headers or {})
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        if csrf and self.csrf:
            h["X-CSRF-Token"] = self.csrf
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with self.opener.open(req, timeout=timeout) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw.decode()) if raw else None
        except ValueError:
            return status, None

    def login(self, user, password):
        status, body = self.request("POST", "/api/login", {"username": user, "password": password},
                                    csrf=False)
        if status != 200:
            raise AssertionError(f"login as {user} failed: {status} {body}")
        self.csrf = body["csrf"]
        return body

    def get(self, path):
        status, body = self.request("GET", path)
        if status != 200:
            raise AssertionError(f"GET {path}: {status} {body}")
        return body


class System:
    def __init__(self, bin_dir, name="mutuo-test"):
        self.bin_dir = bin_dir
        self.dir = tempfile.mkdtemp(prefix=name + "-")
        self.procs = {}  # name -> Popen
        self.mqtt_port = free_port()
        self.broker_dir = os.path.join(self.dir, "broker")
        log(f"system in {self.dir}, MQTT on 127.0.0.1:{self.mqtt_port}")

    # -- lifecycle -----------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()
        if exc[0] is not None:
            self.dump_logs()
            log(f"kept {self.dir} for inspection")
        elif os.environ.get("MUTUO_KEEP_TEST_DIRS") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def dump_logs(self, lines=40):
        for name in self.procs:
            path = self.log_path(name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    tail = f.readlines()[-lines:]
                print(f"----- {name} (last {len(tail)} lines of {path})", flush=True)
                sys.stdout.writelines(tail)

    def log_path(self, name):
        return os.path.join(self.dir, name + ".log")

    def spawn(self, name, argv, env=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        out = open(self.log_path(name), "ab")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=full_env,
                             start_new_session=True)
        self.procs[name] = p
        log(f"started {name} (pid {p.pid})")
        return p

    def kill(self, name, sig=signal.SIGKILL):
        p = self.procs[name]
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        log(f"stopped {name} (pid {p.pid}) with {signal.Signals(sig).name}")

    def stop_all(self):
        for name, p in reversed(list(self.procs.items())):
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)  # a test may have frozen it
                p.send_signal(signal.SIGTERM)
        for name, p in self.procs.items():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)

    # -- parts ---------------------------------------------------------------
    def start_broker(self):
        subprocess.run([BROKER_TOOL, "init", self.broker_dir, "--port", str(self.mqtt_port)],
                       check=True, stdout=subprocess.DEVNULL)
        self.spawn("mosquitto", ["mosquitto", "-c", os.path.join(self.broker_dir, "mosquitto.conf")])
        wait_port(self.mqtt_port)

    def provision(self, kind, name):
        """kind: 'service' or 'agent'. Returns the token file path."""
        subprocess.run([BROKER_TOOL, "add-" + kind, self.broker_dir, name], check=True,
                       stdout=subprocess.DEVNULL)
        return self.token_file(name)

    def token_file(self, name):
        return os.path.join(self.broker_dir, "secrets", name + ".token")

    @property
    def broker_uri(self):
        return f"tcp://127.0.0.1:{self.mqtt_port}"

    def program(self, name):
        """A program of the build under test. The sanitizer pass builds only the
        programs under test; the tools that drive them (bench/: load
        generators, simulators) then come from MUTUO_TOOLS_DIR, the main build."""
        path = os.path.join(self.bin_dir, name)
        tools = os.environ.get("MUTUO_TOOLS_DIR")
        if tools and name.startswith("bench/") and not os.path.exists(path):
            return os.path.join(tools, name)
        return path

    def start_tracker(self, interval_s=2, extra=()):
        self.provision("service", "tracker")
        return self.spawn("tracker", [self.program("tracker/mutuo-tracker"), "--broker", self.broker_uri,
                                      "--token-file", self.token_file("tracker"),
                                      "--interval-s", str(interval_s), "--settle-ms", "500", *extra])

    def start_receiver(self, extra=()):
        self.provision("service", "receiver")
        self.store_dir = os.path.join(self.dir, "store")
        return self.spawn("receiver", [self.program("receiver/mutuo-receiver"), "--broker", self.broker_uri,
                                       "--token-file", self.token_file("receiver"),
                                       "--store", self.store_dir, *extra])

    # The first admin of every test dashboard (created on its first start).
    admin_user = "admin"
    admin_password = "test-admin-" + os.urandom(9).hex()

    def start_dashboard(self, extra=(), port=None, env=None, store=None):
        """Starts the dashboard on the receiver's store (`store`, by default the
        system's) and a data directory of its own."""
        self.provision("service", "dashboard")
        self.http_port = port or free_port()
        self.dashboard_data = os.path.join(self.dir, "dashboard-data")
        p = self.spawn("dashboard", [self.program("dashboard/mutuo-dashboard"), "--broker", self.broker_uri,
                                     "--token-file", self.token_file("dashboard"),
                                     "--store", store or os.path.join(self.dir, "store"),
                                     "--data-dir", self.dashboard_data,
                                     "--admin-user", self.admin_user,
                                     "--listen", f"127.0.0.1:{self.http_port}", *extra],
                       env={"MUTUO_ADMIN_PASSWORD": self.admin_password, **(env or {})})
        wait_port(self.http_port)
        self._admin_client = None
        return p

    @property
    def dashboard_url(self):
        return f"http://127.0.0.1:{self.http_port}"

    def dashboard_client(self, user=None, password=None):
        """A new DashboardClient, logged in (as the first admin by default)."""
        c = DashboardClient(self.dashboard_url)
        c.login(user or self.admin_user, password or self.admin_password)
        return c

    def register_agent(self, agent_id, display_name=None, labels=None):
        """Registers agent_id through the dashboard (as the first admin), as a user
        would; writes the issued token to a mode-600 file and returns its path.
        Start the agent with it instead of start_agent (which provisions through
        broker-config and would clash with the registration)."""
        if getattr(self, "_admin_client", None) is None:
            self._admin_client = self.dashboard_client()
        status, body = self._admin_client.request(
            "POST", "/api/registry",
            {"id": agent_id, "display_name": display_name or agent_id, "labels": labels or {}})
        if status != 201:
            raise AssertionError(f"registering {agent_id}: {status} {body}")
        path = os.path.join(self.dir, agent_id + ".registered-token")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(body["token"] + "\n")
        return path

    def start_agent(self, agent_id, keepalive=4, packets=5, extra=()):
        self.provision("agent", agent_id)
        echo_port = free_port(socket.SOCK_DGRAM)
        return self.spawn(agent_id, [self.program("agent/mutuo-agent"), "--id", agent_id,
                                     "--broker", self.broker_uri,
                                     "--token-file", self.token_file(agent_id),
                                     "--echo-port", str(echo_port), "--echo-bind", "127.0.0.1",
                                     "--advertise", "127.0.0.1", "--keepalive", str(keepalive),
                                     "--udp-packets", str(packets),
                                     "--buffer-dir", self.agent_buffer_dir(agent_id), *extra])

    def agent_buffer_dir(self, agent_id):
        """The agent's on-disk result buffer, inside this system's directory (kept
        across restarts of the agent within one test, never shared between tests)."""
        return os.path.join(self.dir, agent_id + "-buffer")

    def api(self, path):
        """GET a dashboard API path as the logged-in first admin."""
        if getattr(self, "_admin_client", None) is None:
            self._admin_client = self.dashboard_client()
        return self._admin_client.get(path)

    def retained(self, topic_filter, timeout=1.5):
        """Retained messages now on the broker under topic_filter: {topic: payload}.
        Reads through the read-only 'reader' account, as an operator's tool would."""
        if not os.path.exists(self.token_file("reader")):
            self.provision("service", "reader")
        with open(self.token_file("reader")) as f:
            token = f.read().strip()
        out = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.mqtt_port),
                              "-i", "reader", "-u", "reader", "-P", token, "-V", "5",
                              "-t", topic_filter, "--retained-only", "-v", "-W", str(int(timeout + 0.99))],
                             capture_output=True, text=True, timeout=timeout + 5)
        found = {}
        for line in out.stdout.splitlines():
            topic, _, payload = line.partition(" ")
            found[topic] = payload
        return found

    def mqtt_pub(self, client, topic, payload, retain=False):
        """Publishes as `client` (its id, username and token) with MQTT 5, QoS 1.
        Returns (exit code, output); a refused publish is reported in the output."""
        argv = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.mqtt_port), "-V", "5",
                "-i", client, "-u", client, "-P", self.token(client), "-q", "1",
                "-t", topic, "-m", payload, "-d"]
        if retain:
            argv.append("-r")
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return out.returncode, out.stdout + out.stderr

    def mqtt_sub_once(self, client, topic_filter, password=None, wait_s=1):
        """Subscribes as `client` for wait_s seconds; returns (exit code, output)."""
        argv = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.mqtt_port), "-V", "5",
                "-i", client, "-u", client, "-P", password or self.token(client),
                "-t", topic_filter, "-v", "-W", str(wait_s)]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=wait_s + 10)
        return out.returncode, out.stdout + out.stderr

    def token(self, name):
        with open(self.token_file(name)) as f:
            return f.read().strip()
