#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A DNS server for mig-migrate's resolution case, on 127.0.0.1 (UDP, a
port of the kernel's choice, written to DIR/dns-port).  Every question is
logged to DIR/dns-log as "NAME QTYPE".  Names starting with "nx" get
NXDOMAIN; names starting with "slow" are held until DIR/dns-release
exists, then answered (A: 127.0.0.1, any other type: no record); the
others are answered at once.  Usage: mig-fakedns.py DIR"""
import os
import socket
import struct
import sys

d = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(0.02)
with open(d + "/dns-port.tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(d + "/dns-port.tmp", d + "/dns-port")
held = []
while True:
    try:
        data, peer = s.recvfrom(512)
    except socket.timeout:
        data = None
    if data and len(data) > 12:
        i, labels = 12, []
        while i < len(data) and data[i]:
            labels.append(data[i + 1:i + 1 + data[i]].decode("ascii", "replace"))
            i += 1 + data[i]
        if i + 5 <= len(data):
            qname = ".".join(labels).lower()
            qtype = struct.unpack(">H", data[i + 1:i + 3])[0]
            with open(d + "/dns-log", "a") as f:
                f.write("%s %d\n" % (qname, qtype))
            # The question as asked: evdns checks the case of its letters.
            held.append((data[:2], data[12:i + 5], qname, qtype, peer))
    release = os.path.exists(d + "/dns-release")
    keep = []
    for qid, question, qname, qtype, peer in held:
        if qname.startswith("slow") and not release:
            keep.append((qid, question, qname, qtype, peer))
            continue
        if qname.startswith("nx"):
            resp = qid + struct.pack(">HHHHH", 0x8183, 1, 0, 0, 0) + question
        elif qtype == 1:
            answer = (b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) +
                      socket.inet_aton("127.0.0.1"))
            resp = qid + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0) + question + answer
        else:
            resp = qid + struct.pack(">HHHHH", 0x8180, 1, 0, 0, 0) + question
        s.sendto(resp, peer)
    held = keep
