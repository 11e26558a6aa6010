#!/usr/bin/env python3
"""Sends malformed and foreign VXLAN frames out of an interface, COUNT of each
kind, to the VTEP 198.18.0.1 at MAC 02:00:00:00:01:01 (host A of
lib/overlay.sh). Prints, per kind, the switch's drop counter it must raise,
the uplink XDP program's verdict counter when that program hands the frame
to the kernel instead (AF_XDP backend; "-" when it reaches the switch), and
the kind's name.

usage: hostile.py IFACE COUNT
"""
import socket
import struct
import sys

DST_MAC = bytes.fromhex("020000000101")
SRC_MAC = bytes.fromhex("020000000102")
SRC_IP, DST_IP = bytes([198, 18, 0, 2]), bytes([198, 18, 0, 1])


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def inner(src=bytes.fromhex("0200000bad01")):
    # An Ethernet frame in VNI 100: to a100, from a stranger, ARP ethertype, padded.
    return bytes.fromhex("02000000a100") + src + b"\x08\x06" + bytes(46)


def frame(vni=100, flags=0x08, rsvd=b"\0\0\0", rsvd2=0, dport=4789, dst=DST_IP,
          frag=0x4000, bad_csum=False, proto=17, payload=None, cut=None):
    vx = struct.pack("!B3s3sB", flags, rsvd, vni.to_bytes(3, "big"), rsvd2)
    body = vx + (payload if payload is not None else inner())
    udp = struct.pack("!HHHH", 49999, dport, 8 + len(body), 0) + body
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, frag, 64, proto, 0, SRC_IP, dst)
    c = csum(ip)
    if bad_csum:
        c ^= 0x00FF
    ip = ip[:10] + struct.pack("!H", c) + ip[12:]
    f = DST_MAC + SRC_MAC + b"\x08\x00" + ip + udp
    return f[:cut] if cut else f


KINDS = [
    ("unknown VNI 999", "decap.unknown_vni", "-", frame(vni=999)),
    ("I flag clear", "decap.bad_flags", "-", frame(flags=0x00)),
    ("reserved flag bits set", "decap.bad_flags", "-", frame(flags=0x88)),
    ("reserved field set", "decap.bad_flags", "-", frame(rsvd2=1)),
    ("UDP port 4790", "decap.wrong_port", "xdp.pass_not_ours", frame(dport=4790)),
    ("to another VTEP address", "decap.not_our_vtep", "xdp.pass_not_ours", frame(dst=bytes([198, 18, 0, 99]))),
    ("bad IPv4 checksum", "decap.bad_ip_header", "-", frame(bad_csum=True)),
    ("IPv4 fragment", "decap.fragment", "xdp.pass_fragment", frame(frag=0x2000)),
    ("TCP, not UDP", "decap.not_vxlan", "xdp.pass_not_udp", frame(proto=6)),
    ("inner frame of 6 bytes", "rx.truncated", "-", frame(payload=bytes(6))),
    ("IPv4 total length beyond the frame", "rx.truncated", "-", frame(cut=60)),
    ("inner multicast source MAC", "rx.bad_src_mac", "-", frame(payload=inner(src=bytes.fromhex("030000000001")))),
]


def main():
    iface, count = sys.argv[1], int(sys.argv[2])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for name, counter, xdp_counter, f in KINDS:
        for _ in range(count):
            s.send(f)
        print(f"{counter}\t{xdp_counter}\t{name}")


if __name__ == "__main__":
    main()
