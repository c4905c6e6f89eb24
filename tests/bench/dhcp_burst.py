#!/usr/bin/env python3
# tests/bench/dhcp_burst.py — sends a burst of frames from a VM's eth0 (AF_PACKET): DHCPINFORMs or ICMP echo requests to the gateway.
# Usage: dhcp_burst.py {inform|echo} COUNT MAC IP GATEWAY   (run inside the VM's netns)
import socket, struct, sys

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

kind, count, mac, ip, gw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
m = bytes(int(x, 16) for x in mac.split(":"))
src, dst = socket.inet_aton(ip), socket.inet_aton(gw)
if kind == "inform":
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s4s", 1, 1, 6, 0, 0x1234, 0, 0, src, b"\0" * 4, b"\0" * 4,
                        b"\0" * 4, m + b"\0" * 10, b"", b"", bytes([0x63, 0x82, 0x53, 0x63]))
    payload = bootp + bytes([53, 1, 8, 255])
    l4 = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 17, len(l4))
    l4 = l4[:6] + struct.pack("!H", csum(pseudo + l4) or 0xFFFF) + l4[8:]
    proto, eth_dst = 17, b"\xff" * 6
else:
    l4 = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1) + b"x" * 56
    l4 = l4[:2] + struct.pack("!H", csum(l4)) + l4[4:]
    proto, eth_dst = 1, b"\xff" * 6  # the datapath answers by IP, whatever the destination MAC
iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0, src,
                  dst if kind == "echo" else b"\xff" * 4)
iph = iph[:10] + struct.pack("!H", csum(iph)) + iph[12:]
frame = eth_dst + m + b"\x08\x00" + iph + l4
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
for _ in range(count):
    s.send(frame)
