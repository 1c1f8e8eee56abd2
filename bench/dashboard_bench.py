#!/usr/bin/env python3
"""Dashboard benchmark (not a test): how fast mutuo-dashboard answers the mesh
matrix of a 200-peer mesh (39,800 pairs) and a 30-day chart, side by side with
nginx serving the very same response bytes as static files on loopback.

  1. bench fixture: mutuo-dashboard-bench-fill writes a receiver store (200-peer
     mesh, 30 days of results every 10 s for the charted pairs, so their rollups
     span the range) with the receiver's own StoreWriter;
  2. mutuo-dashboard reads it as a secondary instance (no broker needed: the
     matrix comes from the store); the bench logs in and makes an API token;
  3. the answers of /api/matrix, /api/matrix?compact=1 and the 30-day
     /api/series are saved as files, and nginx (a non-daemon child on its own
     port and temp config, stopped by PID) serves them;
  4. wrk against both, same connections and duration: requests/s, their ratio
     (goal >= 0.5) and p99 latency (goal < 20 ms);
  5. the page's cold load in Chromium: bytes transferred and time to first
     render (first contentful paint, and the matrix first drawn with all peers).

Usage: bench/dashboard_bench.py --bin-dir build [--duration 10] [--connections 16]
Needs wrk and nginx (scripts/install-deps.sh test), node + tests/browser/node_modules
and /usr/bin/chromium for step 5 (skipped without them).
"""

import argparse
import http.cookiejar
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def wrk(url, seconds, connections, threads, headers=()):
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for h in headers:
        argv += ["-H", h]
    out = subprocess.run(argv + [url], capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p99_ms": float(m.group(1)) * scale,
            "non2xx": int(errors.group(1)) if errors else 0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--peers", type=int, default=200)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    for tool in ["wrk", "nginx"]:
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            sys.exit(f"needs {tool}: apt-get install {tool} (scripts/install-deps.sh test)")
    nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
    tmp = tempfile.mkdtemp(prefix="mutuo-dashboard-bench-")
    os.chmod(tmp, 0o755)  # nginx's workers run as nobody
    procs = []
    try:
        store = os.path.join(tmp, "store")
        t0 = time.monotonic()
        fill = subprocess.run([os.path.join(args.bin_dir, "dashboard", "mutuo-dashboard-bench-fill"),
                               "--store", store, "--peers", str(args.peers)],
                              capture_output=True, text=True, check=True)
        fixture = json.loads(fill.stdout.strip().splitlines()[-1])
        print(f"fixture: {fixture['peers']} peers, {fixture['pairs']} pairs, {fixture['days']} days "
              f"of history for {fixture['series']} pairs, {fixture['results']} results "
              f"({time.monotonic() - t0:.1f} s)")

        port = free_port()
        password = "bench-" + os.urandom(9).hex()
        log = open(os.path.join(tmp, "dashboard.log"), "w")
        dash = subprocess.Popen(
            [os.path.join(args.bin_dir, "dashboard", "mutuo-dashboard"), "--store", store,
             "--data-dir", os.path.join(tmp, "data"), "--listen", f"127.0.0.1:{port}",
             "--broker", f"tcp://127.0.0.1:{free_port()}", "--log-level", "warn"],
            stdout=log, stderr=subprocess.STDOUT,
            env=dict(os.environ, MUTUO_ADMIN_PASSWORD=password))
        procs.append(dash)
        wait_port(port)
        base = f"http://127.0.0.1:{port}"
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

        def call(method, path, body=None, headers=None):
            req = urllib.request.Request(base + path, method=method, headers=headers or {},
                                         data=None if body is None else json.dumps(body).encode())
            if body is not None:
                req.add_header("Content-Type", "application/json")
            with opener.open(req, timeout=30) as r:
                return r.read()

        session = json.loads(call("POST", "/api/login", {"username": "admin", "password": password}))
        token = json.loads(call("POST", "/api/tokens", {"name": "bench", "role": "viewer"},
                                {"X-CSRF-Token": session["csrf"]}))["token"]
        cookie = next(c.value for c in jar if c.name == "mutuo_session")
        auth = {"Authorization": "Bearer " + token}
        series_path = "/api/series?observer=peer-000&target=peer-001&range=30d"
        paths = {"matrix.json": "/api/matrix", "matrix-compact.json": "/api/matrix?compact=1",
                 "series-30d.json": series_path}
        # The store is opened on first use: wait until the matrix is full.
        deadline = time.monotonic() + 30
        while True:
            m = json.loads(call("GET", "/api/matrix", headers=auth))
            if len(m["cells"]) >= fixture["pairs"] or time.monotonic() > deadline:
                break
            time.sleep(1.1)
        www = os.path.join(tmp, "www")
        os.makedirs(www, mode=0o755)
        bodies, gzipped = {}, {}
        for name, path in paths.items():
            bodies[name] = call("GET", path, headers=auth)
            with open(os.path.join(www, name), "wb") as f:
                f.write(bodies[name])
            # The very bytes the dashboard sends to a client accepting gzip.
            req = urllib.request.Request(base + path, headers={**auth, "Accept-Encoding": "gzip"})
            with urllib.request.urlopen(req, timeout=30) as r:
                if r.headers.get("Content-Encoding") == "gzip":
                    gzipped[name] = r.read()
                    with open(os.path.join(www, name + ".gz"), "wb") as f:
                        f.write(gzipped[name])
        s30 = json.loads(bodies["series-30d.json"])
        print(f"/api/matrix: {len(m['cells'])} cells, {len(bodies['matrix.json'])} bytes; "
              f"compact: {len(bodies['matrix-compact.json'])} bytes; 30-day series: "
              f"{len(s30['points']['ts'])} points ({s30['tier']} tier), "
              f"{len(bodies['series-30d.json'])} bytes")

        nport = free_port()
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 2;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path {tmp}/nginx-body;
  proxy_temp_path {tmp}/nginx-proxy;
  fastcgi_temp_path {tmp}/nginx-fastcgi;
  uwsgi_temp_path {tmp}/nginx-uwsgi;
  scgi_temp_path {tmp}/nginx-scgi;
  types {{ application/json json; }}
  gzip_static on;  # serves name.gz, the dashboard's own gzip bytes, to gzip clients
  server {{
    listen 127.0.0.1:{nport};
    root {www};
  }}
}}
""")
        nginx = subprocess.Popen([nginx_bin, "-c", conf, "-p", tmp], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        procs.append(nginx)
        wait_port(nport)

        print(f"\nwrk: {args.threads} threads, {args.connections} connections, "
              f"{args.duration} s each; dashboard with a session cookie, as the page")
        print(f"{'endpoint':<35}{'KiB':>9}{'dash r/s':>11}{'nginx r/s':>10}{'ratio':>7}"
              f"{'dash p99':>9}{'ngx p99':>9}  (p99 in ms)")
        runs = []
        for name, path in paths.items():
            short = "series 30 d" if name.startswith("series") else path.replace("/api/", "")
            runs.append((short, name, []))
            if name in gzipped:
                runs.append((short + " (gzip)", name, ["Accept-Encoding: gzip"]))
        for label, name, extra in runs:
            path = paths[name]
            d = wrk(base + path, args.duration, args.connections, args.threads,
                    ["Cookie: mutuo_session=" + cookie, *extra])
            n = wrk(f"http://127.0.0.1:{nport}/{name}", args.duration, args.connections,
                    args.threads, extra)
            ratio = d["rps"] / n["rps"] if n["rps"] else 0
            size = len(gzipped[name]) if extra else len(bodies[name])
            flag = "" if d["non2xx"] + n["non2xx"] == 0 else \
                f"  (errors: dashboard {d['non2xx']}, nginx {n['non2xx']})"
            print(f"{label[:34]:<35}{size / 1024:>9.0f}{d['rps']:>11.0f}"
                  f"{n['rps']:>10.0f}{ratio:>7.2f}{d['p99_ms']:>9.1f}{n['p99_ms']:>9.1f}{flag}")
        print("goals: ratio >= 0.5, dashboard p99 < 20 ms")

        node = shutil.which("node")
        if node and os.path.isdir(os.path.join(ROOT, "tests", "browser", "node_modules",
                                               "playwright-core")) and os.path.exists("/usr/bin/chromium"):
            shot = os.path.join(args.bin_dir, "screenshots", "bench_200_peers.png")
            os.makedirs(os.path.dirname(shot), exist_ok=True)
            out = subprocess.run([node, os.path.join(HERE, "dashboard_page_load.mjs"), base + "/",
                                  cookie, str(args.peers), shot],
                                 capture_output=True, text=True, timeout=120)
            if out.returncode != 0:
                print("page load: failed:", out.stdout[-500:], out.stderr[-500:])
            else:
                p = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"\npage cold load in Chromium ({args.peers} peers): {p['requests']} requests, "
                      f"{p['total_bytes'] / 1024:.0f} KiB transferred (page {p['html_bytes'] / 1024:.0f} KiB, "
                      f"matrix {p['matrix_bytes'] / 1024:.0f} KiB); first contentful paint "
                      f"{p['fcp_ms']:.0f} ms, matrix drawn with all peers {p['matrix_ms']:.0f} ms "
                      f"after navigation; screenshot {shot}")
        else:
            print("\npage load: skipped (needs node, tests/browser/node_modules and /usr/bin/chromium)")
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
