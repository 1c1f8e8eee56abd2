#!/usr/bin/env python3
"""Prints a free loopback port: the first of PREFERRED.. that is free, else any.
Usage: free-port.py tcp|udp PREFERRED"""
import socket
import sys

kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
start = int(sys.argv[2])
for port in list(range(start, start + 50)) + [0]:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(s.getsockname()[1])
        break
