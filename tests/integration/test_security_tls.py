"""agents_reach_the_broker_over_verified_tls

The broker's TLS listener (broker-config: mutuo-broker init --tls-port, with a
development CA from mutuo-tls-dev): an agent that verifies the broker against
the right CA connects and announces itself; one given another CA, or none (the
system's trust store), refuses the broker and never gets in; --tls-insecure
connects, and says loudly that it does not verify. Anonymous access is off on
the TLS listener too, and the plain listener cannot be put off loopback.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time

from harness import BROKER_TOOL, REPO, System, free_port, log, wait_port, wait_until

TLS_DEV = os.path.join(REPO, "broker-config", "mutuo-tls-dev")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()

    with System(args.bin_dir, "tls") as s:
        certs = os.path.join(s.dir, "certs")
        rogue = os.path.join(s.dir, "rogue")
        subprocess.run([TLS_DEV, certs], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([TLS_DEV, rogue], check=True, stdout=subprocess.DEVNULL)
        tls_port = free_port()
        out = subprocess.run([BROKER_TOOL, "init", os.path.join(s.dir, "off-loopback"), "--bind", "0.0.0.0"],
                             capture_output=True, text=True)
        assert out.returncode != 0 and "loopback" in out.stderr, out
        log("mutuo-broker refuses a plain listener off loopback")

        subprocess.run([BROKER_TOOL, "init", s.broker_dir, "--port", str(s.mqtt_port),
                        "--tls-port", str(tls_port), "--tls-bind", "127.0.0.1", "--tls-dir", certs],
                       check=True, stdout=subprocess.DEVNULL)
        s.spawn("mosquitto", ["mosquitto", "-c", os.path.join(s.broker_dir, "mosquitto.conf")])
        wait_port(s.mqtt_port)
        wait_port(tls_port)

        cases = {  # agent id -> (extra flags, should connect)
            "tls-good": (["--ca-file", os.path.join(certs, "ca.crt")], True),
            "tls-rogue": (["--ca-file", os.path.join(rogue, "ca.crt")], False),
            "tls-system": ([], False),
            "tls-insecure": (["--tls-insecure"], True),
        }
        for agent, (flags, _) in cases.items():
            s.provision("agent", agent)
            s.spawn(agent, [s.program("agent/mutuo-agent"), "--id", agent,
                            "--broker", f"ssl://127.0.0.1:{tls_port}", *flags,
                            "--token-file", s.token_file(agent),
                            "--echo-port", str(free_port(socket.SOCK_DGRAM)), "--echo-bind", "127.0.0.1",
                            "--advertise", "127.0.0.1", "--buffer-dir", s.agent_buffer_dir(agent)])

        def online():
            found = s.retained("mutuo/v1/agents/+/status")
            return {t.split("/")[3] for t, p in found.items() if p and json.loads(p)["state"] == "online"}
        wait_until("the verifying and the insecure agent online over TLS",
                   lambda: {"tls-good", "tls-insecure"} <= online(), 20)
        time.sleep(3)  # give the others the same chance, and more
        assert online() == {"tls-good", "tls-insecure"}, online()
        for agent in ["tls-rogue", "tls-system"]:
            text = open(s.log_path(agent), errors="replace").read()
            assert "connected to" not in text, text
            assert "cannot connect" in text or "TLS" in text, text
        insecure_log = open(s.log_path("tls-insecure"), errors="replace").read()
        assert "verification is OFF" in insecure_log, insecure_log
        log("over TLS: the agent with the right CA connects; with another CA or the system's "
            "store it never gets in; --tls-insecure connects and warns")

        out = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(tls_port), "-V", "5",
                              "--cafile", os.path.join(certs, "ca.crt"), "-t", "mutuo/v1/#", "-W", "2"],
                             capture_output=True, text=True, timeout=15)
        assert out.returncode != 0 and "not authori" in (out.stdout + out.stderr).lower(), out
        out = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(tls_port), "-V", "5",
                              "--cafile", os.path.join(certs, "ca.crt"), "-i", "tls-good-2",
                              "-u", "tls-good", "-P", "wrong", "-t", "mutuo/v1/#", "-W", "2"],
                             capture_output=True, text=True, timeout=15)
        assert out.returncode != 0 and "not authori" in (out.stdout + out.stderr).lower(), out
        log("anonymous and wrong-token connects are refused on the TLS listener")
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
