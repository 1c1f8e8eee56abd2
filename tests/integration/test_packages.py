#!/usr/bin/env python3
"""The Debian packages install, upgrade and purge cleanly (docs/operating.md, "Packages").

Builds the five packages with cpack from the build directory (the programs must
be built), installs them on this machine with dpkg -i, checks files, conffiles,
users, state directories, the units (systemd-analyze verify), the agent's
cap_net_raw and every program's --version; reinstalls them (an upgrade to the
same version) and checks that data in the state directories and an operator's
edit of a conffile survive; purges them and checks that all of it is gone.
Starts no service.

It changes the machine it runs on, so it runs only as root (CI runs as root on
a throwaway machine) and only when no mutuo package or state is there already;
otherwise it exits 77, which ctest reports as skipped.
"""

import argparse
import glob
import grp
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import free_port, log  # noqa: E402

SKIP = 77
SERVICES = ["agent", "tracker", "receiver", "dashboard"]
PACKAGES = [f"mutuo-{s}" for s in SERVICES] + ["mutuo-broker-config"]
BROKER_DIR = "/var/lib/mutuo-broker"
DROPIN = "/etc/mosquitto/conf.d/mutuo.conf"


def skip(reason):
    print(f"SKIP: {reason}", flush=True)
    sys.exit(SKIP)


def run(argv, check=True, timeout=120, env=None):
    full_env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", **(env or {}))
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=full_env)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def dpkg(*args):
    """dpkg, retried while another process holds its lock (bounded: 90 s)."""
    deadline = time.monotonic() + 90
    while True:
        p = run(["dpkg", *args], check=False, timeout=180)
        locked = "lock" in p.stderr and ("locked" in p.stderr or "held" in p.stderr)
        if p.returncode == 0 or not locked or time.monotonic() > deadline:
            break
        time.sleep(2)
    if p.returncode != 0:
        raise AssertionError(f"dpkg {' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def installed(pkg):
    p = run(["dpkg-query", "-W", "-f=${db:Status-Status}", pkg], check=False)
    return p.returncode == 0 and p.stdout.strip() not in ("", "not-installed")


def project_version(bin_dir):
    with open(os.path.join(bin_dir, "CMakeCache.txt")) as f:
        m = re.search(r"^CMAKE_PROJECT_VERSION:\w+=(\S+)$", f.read(), re.M)
    assert m, "CMAKE_PROJECT_VERSION not in CMakeCache.txt"
    return m.group(1)


def user_exists(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def group_exists(name):
    try:
        return grp.getgrnam(name)
    except KeyError:
        return None


def running_packaged_programs():
    """PIDs whose executable is one of the installed programs (not the build's)."""
    found = []
    for exe in glob.glob("/proc/[0-9]*/exe"):
        try:
            target = os.readlink(exe)
        except OSError:
            continue
        if re.fullmatch(r"/usr/bin/mutuo-(agent|tracker|receiver|dashboard)( \(deleted\))?", target):
            found.append((exe.split("/")[2], target))
    return found


def build_packages(bin_dir, out):
    t0 = time.monotonic()
    p = run(["cpack", "--config", os.path.join(bin_dir, "CPackConfig.cmake"), "-G", "DEB",
             "-B", out], check=False, timeout=900)
    took = time.monotonic() - t0
    if p.returncode != 0:
        raise AssertionError(f"cpack failed:\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
    debs = {}
    for path in glob.glob(os.path.join(out, "*.deb")):
        name = run(["dpkg-deb", "-f", path, "Package"]).stdout.strip()
        debs[name] = path
    log(f"cpack built {len(debs)} packages in {took:.1f} s: "
        + ", ".join(f"{os.path.basename(p)} ({os.path.getsize(p) // 1024} KiB)"
                    for p in sorted(debs.values())))
    assert sorted(debs) == sorted(PACKAGES), f"packages built: {sorted(debs)}"
    return debs


def check_control(debs, version):
    for name, path in debs.items():
        fields = {k: run(["dpkg-deb", "-f", path, k]).stdout.strip()
                  for k in ("Version", "Depends", "Architecture", "Maintainer", "Description")}
        assert fields["Version"] == version, (name, fields["Version"], version)
        assert fields["Maintainer"], name
        assert fields["Description"], name
        files = run(["dpkg-deb", "-c", path]).stdout
        if name == "mutuo-broker-config":
            assert fields["Architecture"] == "all", fields
            assert "mosquitto" in fields["Depends"], fields
            continue
        # dpkg-shlibdeps filled in the shared libraries the program links.
        assert "libc6" in fields["Depends"] and "libstdc++6" in fields["Depends"], (name, fields)
        assert "adduser" in fields["Depends"], (name, fields)
        programs = sorted(re.findall(r"\./usr/bin/(\S+)", files))
        extra = ["mutuo-config"] if name == "mutuo-dashboard" else []  # config as code
        assert programs == sorted([name] + extra), f"{name} ships programs {programs}"
        control = run(["dpkg-deb", "-I", path, "conffiles"]).stdout.split()
        assert control == [f"/etc/mutuo/{name[len('mutuo-'):]}.conf"], (name, control)
    agent_depends = run(["dpkg-deb", "-f", debs["mutuo-agent"], "Depends"]).stdout
    assert "libcap2-bin" in agent_depends, agent_depends
    # The agent package stays small: the agent, and nothing of RocksDB's or CivetWeb's.
    for lib in ("librocksdb", "libcivetweb"):
        assert lib not in agent_depends, f"mutuo-agent depends on {lib}: {agent_depends}"


def check_installed(version):
    for s in SERVICES:
        pkg = f"mutuo-{s}"
        exe = f"/usr/bin/{pkg}"
        assert os.access(exe, os.X_OK), exe
        out = run([exe, "--version"]).stdout.strip()
        assert out == version, f"{exe} --version: {out!r}, expected {version!r}"
        unit = f"/lib/systemd/system/{pkg}.service"
        assert os.path.isfile(unit), unit
        assert os.path.isfile(f"/etc/mutuo/{s}.conf"), s
        assert f"/etc/mutuo/{s}.conf" in run(["dpkg-query", "-W", "-f=${Conffiles}", pkg]).stdout
        u = user_exists(pkg)
        assert u, f"user {pkg} missing"
        assert u.pw_uid < 1000 and u.pw_shell.endswith("nologin"), (pkg, u)
        assert u.pw_dir == f"/var/lib/{pkg}", u
        st = os.stat(f"/var/lib/{pkg}")
        assert st.st_uid == u.pw_uid and (st.st_mode & 0o777) == 0o750, (pkg, oct(st.st_mode))
    assert group_exists("mutuo"), "group mutuo (receiver's store, read by the dashboard) missing"
    assert os.stat("/var/lib/mutuo-receiver").st_gid == group_exists("mutuo").gr_gid

    caps = run(["getcap", "/usr/bin/mutuo-agent"]).stdout
    assert "cap_net_raw" in caps and "ep" in caps.split("cap_net_raw")[1][:4], caps
    for other in ("tracker", "receiver", "dashboard"):
        assert run(["getcap", f"/usr/bin/mutuo-{other}"]).stdout.strip() == "", other

    units = [f"/lib/systemd/system/mutuo-{s}.service" for s in SERVICES]
    p = run(["systemd-analyze", "verify", *units], check=False)
    complaints = [l for l in (p.stdout + p.stderr).splitlines() if "mutuo" in l]
    assert p.returncode == 0 and not complaints, f"systemd-analyze verify:\n{p.stdout}{p.stderr}"
    for s in SERVICES:
        text = open(f"/lib/systemd/system/mutuo-{s}.service").read()
        for line in ("Type=notify", f"User=mutuo-{s}", "ProtectSystem=strict", "NoNewPrivileges=yes",
                     "PrivateTmp=yes", "ProtectHome=yes", "Restart=on-failure",
                     f"StateDirectory=mutuo-{s}"):
            assert re.search(rf"^{re.escape(line)}$", text, re.M), (s, line)
        has_raw = re.search(r"^AmbientCapabilities=CAP_NET_RAW$", text, re.M)
        assert bool(has_raw) == (s == "agent"), f"{s}: AmbientCapabilities"

    assert "export" in run(["/usr/bin/mutuo-config", "--help"]).stdout

    # mutuo-broker-config: the script, its templates, the generated config and the drop-in.
    assert "mutuo-broker init DIR" in run(["/usr/bin/mutuo-broker", "--help"]).stdout
    conf = open(os.path.join(BROKER_DIR, "mosquitto.conf")).read()
    assert re.search(r"^plugin .*mosquitto_dynamic_security\.so$", conf, re.M), conf
    assert re.search(r"^user mosquitto$", conf, re.M), "the broker must not run as root"
    assert os.path.isfile(os.path.join(BROKER_DIR, "dynsec.json"))
    secrets = os.path.join(BROKER_DIR, "secrets")
    assert os.stat(secrets).st_mode & 0o077 == 0, "secrets/ must be private"
    assert os.path.getsize(os.path.join(secrets, "admin.token")) > 20
    dropin = open(DROPIN).read()
    assert "mosquitto_dynamic_security.so" in dropin and "max_queued_messages" in dropin, dropin
    assert not re.search(r"^persistence_location", dropin, re.M), "clashes with Debian's mosquitto.conf"
    check_mosquitto_accepts(dropin)

    started = running_packaged_programs()
    assert not started, f"installing started programs: {started}"


def check_mosquitto_accepts(dropin):
    """Debian's /etc/mosquitto/mosquitto.conf with the drop-in must load: a real
    Mosquitto, with paths and port moved into a temporary directory, starts and
    lets the admin from the generated dynsec.json in."""
    d = tempfile.mkdtemp(prefix="mutuo-dropin-")
    os.chmod(d, 0o777)  # Mosquitto drops to user mosquitto
    port = free_port()
    main_conf = open("/etc/mosquitto/mosquitto.conf").read()
    main_conf = re.sub(r"^include_dir .*$", f"include_dir {d}/conf.d", main_conf, flags=re.M)
    main_conf = re.sub(r"^pid_file .*$", f"pid_file {d}/pid", main_conf, flags=re.M)
    main_conf = re.sub(r"^persistence_location .*$", f"persistence_location {d}/", main_conf, flags=re.M)
    main_conf = re.sub(r"^log_dest file .*$", "log_dest stderr", main_conf, flags=re.M)
    assert f"include_dir {d}/conf.d" in main_conf, "Debian's mosquitto.conf has no include_dir"
    os.mkdir(f"{d}/conf.d")
    shutil.copy(f"{BROKER_DIR}/dynsec.json", f"{d}/dynsec.json")
    os.chmod(f"{d}/dynsec.json", 0o666)
    dropin = re.sub(r"^listener \d+ ", f"listener {port} ", dropin, flags=re.M)
    dropin = re.sub(r"^plugin_opt_config_file .*$", f"plugin_opt_config_file {d}/dynsec.json",
                    dropin, flags=re.M)
    with open(f"{d}/mosquitto.conf", "w") as f:
        f.write(main_conf)
    with open(f"{d}/conf.d/mutuo.conf", "w") as f:
        f.write(dropin)
    out = open(f"{d}/out.log", "wb")
    p = subprocess.Popen(["mosquitto", "-c", f"{d}/mosquitto.conf"], stdout=out, stderr=subprocess.STDOUT)
    try:
        token = open(f"{BROKER_DIR}/secrets/admin.token").read().strip()
        r = run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-u", "admin", "-P", token,
                 "-t", "$SYS/broker/version", "-C", "1", "-W", "5"], check=False, timeout=20) \
            if wait_port_open(port, p) else None
        log_text = open(f"{d}/out.log").read()
        assert r is not None and r.returncode == 0 and "mosquitto version" in r.stdout, \
            f"Mosquitto did not take Debian's config with the drop-in:\n{log_text}"
    finally:
        p.terminate()
        p.wait(timeout=10)
        shutil.rmtree(d, ignore_errors=True)
    log("Mosquitto loads Debian's mosquitto.conf with the drop-in and knows the admin")


def wait_port_open(port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as sk:
            sk.settimeout(0.2)
            if sk.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


def check_purged():
    left = [p for p in PACKAGES if installed(p)]
    assert not left, f"still installed: {left}"
    for path in (["/etc/mutuo", BROKER_DIR, DROPIN, "/usr/share/mutuo"]
                 + [f"/usr/bin/mutuo-{s}" for s in SERVICES]
                 + [f"/var/lib/mutuo-{s}" for s in SERVICES]
                 + [f"/lib/systemd/system/mutuo-{s}.service" for s in SERVICES]
                 + [f"/usr/share/doc/mutuo-{s}" for s in SERVICES]):
        assert not os.path.lexists(path), f"{path} left after purge"
    for s in SERVICES:
        assert not user_exists(f"mutuo-{s}"), f"user mutuo-{s} left after purge"
        assert not group_exists(f"mutuo-{s}"), f"group mutuo-{s} left after purge"
    assert not group_exists("mutuo"), "group mutuo left after purge"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()
    bin_dir = os.path.abspath(args.bin_dir)

    if os.geteuid() != 0:
        skip("installs packages on this machine: runs only as root (CI runs as root)")
    for tool in ("dpkg", "cpack", "dpkg-shlibdeps", "systemd-analyze", "getcap", "adduser"):
        if shutil.which(tool) is None:
            skip(f"{tool} not found")
    if not shutil.which("mosquitto"):
        skip("mosquitto not installed (mutuo-broker-config depends on it)")
    already = [p for p in PACKAGES if installed(p)]
    if already:
        skip(f"{', '.join(already)} already installed here; not touching a real installation")
    leftovers = [p for p in [f"/var/lib/mutuo-{s}" for s in SERVICES] + [BROKER_DIR, "/etc/mutuo", DROPIN]
                 if os.path.lexists(p)]
    # An agent run as root without --buffer-dir (scripts/demo.sh) leaves
    # /var/lib/mutuo-agent/<id>. Unless something still writes there (a running
    # agent rewrites metrics.prom every 10 s), it is moved aside and put back.
    aside = {}
    for path in list(leftovers):
        if path.startswith("/var/lib/mutuo-") and time.time() - newest_mtime(path) > 60:
            aside[path] = f"{path}.before-test-packages-{os.getpid()}"
            leftovers.remove(path)
    if leftovers:
        skip(f"{', '.join(leftovers)} exist; not touching them")
    for path, backup in aside.items():
        log(f"moving {path} aside to {backup} for the test")
        os.rename(path, backup)
    try:
        run_test(bin_dir)
    finally:
        for path, backup in aside.items():
            if not os.path.lexists(path):
                os.rename(backup, path)
                log(f"{path} put back")
    print("test_packages: OK", flush=True)


def newest_mtime(path):
    newest = os.lstat(path).st_mtime
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            try:
                newest = max(newest, os.lstat(os.path.join(root, n)).st_mtime)
            except OSError:
                pass
    return newest


def run_test(bin_dir):
    for s in SERVICES:
        if not os.access(os.path.join(bin_dir, s, f"mutuo-{s}"), os.X_OK):
            raise AssertionError(f"build mutuo-{s} first ({bin_dir}/{s}/mutuo-{s} missing)")

    version = project_version(bin_dir)
    out = tempfile.mkdtemp(prefix="mutuo-packages-")
    try:
        debs = build_packages(bin_dir, out)
        check_control(debs, version)
        t0 = time.monotonic()
        try:
            log("installing with dpkg -i")
            dpkg("-i", *debs.values())
            check_installed(version)
            log("installed: files, conffiles, users, state directories, units, cap_net_raw, --version")

            # Upgrade (the same version again): data and an operator's edits stay.
            markers = {}
            for s in SERVICES:
                path = f"/var/lib/mutuo-{s}/marker"
                with open(path, "w") as f:
                    f.write(f"data of {s}\n")
                markers[path] = f"data of {s}\n"
            with open(f"{BROKER_DIR}/marker", "w") as f:
                f.write("broker data\n")
            markers[f"{BROKER_DIR}/marker"] = "broker data\n"
            dynsec_before = open(f"{BROKER_DIR}/dynsec.json").read()
            with open("/etc/mutuo/agent.conf", "a") as f:
                f.write('id = "edited-by-operator"\n')
            uids = {s: user_exists(f"mutuo-{s}").pw_uid for s in SERVICES}
            log("upgrading: dpkg -i the same packages again")
            dpkg("-i", *debs.values())
            for path, content in markers.items():
                assert open(path).read() == content, f"{path} lost on upgrade"
            assert open(f"{BROKER_DIR}/dynsec.json").read() == dynsec_before, "broker accounts changed"
            assert 'id = "edited-by-operator"' in open("/etc/mutuo/agent.conf").read(), \
                "an operator's edit of agent.conf was lost on upgrade"
            assert {s: user_exists(f"mutuo-{s}").pw_uid for s in SERVICES} == uids
            check_installed(version)
            log("upgraded: state, broker accounts, conffile edits and users kept")

            # Remove (not purge) keeps data; purge removes it.
            dpkg("--remove", "mutuo-tracker")
            assert os.path.exists("/var/lib/mutuo-tracker/marker"), "remove must keep data"
            assert user_exists("mutuo-tracker") and os.path.exists("/etc/mutuo/tracker.conf")
            assert not os.path.exists("/usr/bin/mutuo-tracker")
        finally:
            log("purging")
            dpkg("--purge", *PACKAGES)
        check_purged()
        log(f"purged: nothing left; install, upgrade and purge took {time.monotonic() - t0:.1f} s")
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
