#!/usr/bin/python3
"""Sends crafted bad packets to a tuntcp stack (tests/hostile_live.rs).

Run only inside the network namespace a test created: it sends from
192.0.2.1 to 192.0.2.2 (with --ipv6: from 2001:db8::1 to 2001:db8::2)
through whatever route the namespace has.

  /usr/bin/python3 scripts/craft/hostile.py --sport PORT [--dport 7] [--ipv6]

PORT is the local port of the kernel client whose echo connection must
survive. Each packet is one kind of bad input; the stack must drop it (or
answer it harmlessly) and keep echoing that client.
"""
import argparse
import random
import socket

from scapy.all import (  # noqa: E402
    IP, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting, Jumbo, TCP, Raw, conf, fragment, fragment6, send,
)

SRC = "192.0.2.1"
DST = "192.0.2.2"
SRC6 = "2001:db8::1"
DST6 = "2001:db8::2"


def ipv4_only_packets(ip, tcp):
    """Bad input only IPv4 has: its header checksum, its fragments."""
    yield "bad IP checksum", ip(chksum=0xDEAD) / tcp(flags="PA") / Raw(b"x" * 10)
    big = ip() / tcp(flags="PA") / Raw(b"f" * 1200)
    for i, frag in enumerate(fragment(big, fragsize=400)):
        yield "fragment %d" % i, frag
    yield "more-fragments flag alone", ip(flags="MF") / tcp(flags="PA") / Raw(b"m" * 8)
    yield "IP total length lies", ip(len=1000) / tcp(flags="PA") / Raw(b"short")


def ipv6_only_packets(ip, tcp):
    """Bad input only IPv6 has (RFC 8200): fragments, extension header
    chains, a jumbogram option, a routing header, a payload length that
    lies either way."""
    big = ip() / IPv6ExtHdrFragment() / tcp(flags="PA") / Raw(b"f" * 1200)
    for i, frag in enumerate(fragment6(big, 500)):
        yield "IPv6 fragment %d" % i, frag
    yield "atomic fragment", ip() / IPv6ExtHdrFragment() / tcp(flags="PA") / Raw(b"a" * 8)
    chain = ip()
    for _ in range(20):
        chain = chain / IPv6ExtHdrDestOpt()
    yield "20 destination options headers", chain / tcp(flags="PA") / Raw(b"c" * 8)
    yield "jumbogram option", ip(plen=0) / IPv6ExtHdrHopByHop(options=[Jumbo(jumboplen=100000)]) / tcp(flags="PA") / Raw(b"j" * 8)
    yield "hop-by-hop not first", ip() / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / tcp(flags="PA") / Raw(b"h" * 8)
    yield "routing header type 0", ip() / IPv6ExtHdrRouting(type=0, addresses=[SRC6]) / tcp(flags="PA") / Raw(b"r" * 8)
    yield "payload length past the end", ip(plen=1000) / tcp(flags="PA") / Raw(b"short")
    yield "payload length inside the TCP header", ip(plen=8) / tcp(flags="PA") / Raw(b"cut")


def hostile_packets(sport, dport, rng, ipv6=False):
    """(name, packet) pairs; every kind the test brief lists."""
    seq = rng.getrandbits(32)
    ack = rng.getrandbits(32)
    tcp = lambda **kw: TCP(sport=sport, dport=dport, seq=seq, ack=ack, **kw)
    if ipv6:
        ip = lambda **kw: IPv6(src=SRC6, dst=DST6, **kw)
        yield from ipv6_only_packets(ip, tcp)
    else:
        ip = lambda **kw: IP(src=SRC, dst=DST, **kw)
        yield from ipv4_only_packets(ip, tcp)
    yield "bad TCP checksum", ip() / TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags="PA", chksum=0xBEEF) / Raw(b"y" * 10)
    for length in (0, 1, 255):
        # kind 2 (MSS) with an illegal length byte, built by hand.
        yield "option length %d" % length, ip() / tcp(flags="A", options=[]) / Raw(bytes([2, length, 5, 0xB4]))
        opts = bytes([2, length, 5, 0xB4])
        pkt = ip() / TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags="A", dataofs=6) / Raw(opts)
        yield "option length %d in header" % length, pkt
    yield "MSS 0 on a SYN to the tuple", ip() / tcp(flags="S", options=[("MSS", 0)])
    yield "RST with wrong seq", ip() / tcp(flags="R")
    yield "RST+ACK with wrong seq", ip() / tcp(flags="RA")
    yield "SYN to the established tuple", ip() / tcp(flags="S")
    yield "Christmas tree", ip() / tcp(flags="FSRPAUEC", urgptr=0xFFFF) / Raw(b"xmas")
    yield "data without ACK", ip() / tcp(flags="P") / Raw(b"no ack here")
    yield "data without ACK, new port", ip() / TCP(sport=sport ^ 0x5555, dport=dport, seq=seq, flags="P") / Raw(b"nope")
    yield "SYN+FIN", ip() / tcp(flags="SF")
    yield "header length 15 past the end", ip() / TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags="A", dataofs=15)
    yield "window 0 wrong seq", ip() / tcp(flags="A", window=0)
    # The classes of known TCP/IP stack CVEs (Ripple20, AMNESIA:33,
    # NAME:WRECK, teardrop, land, ...):
    yield "zero-length option", ip() / TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags="A", dataofs=6) / Raw(bytes([8, 0, 1, 1]))
    yield "option longer than the header", ip() / TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags="A", dataofs=6) / Raw(bytes([8, 40, 0, 0]))
    yield "MSS 0 SYN, new port", ip() / TCP(sport=sport ^ 0x2222, dport=dport, seq=seq, flags="S", options=[("MSS", 0)])
    yield "urgent pointer past the data", ip() / tcp(flags="PAU", urgptr=0xFFFF) / Raw(b"u")
    yield "urgent flag, pointer 0, no data", ip() / tcp(flags="AU", urgptr=0)
    yield "IP header length 4 words", raw_ip(ihl=4)
    yield "IP header length 0", raw_ip(ihl=0)
    yield "IP total length below the header", raw_ip(total=12)
    yield "IP total length 0", raw_ip(total=0)
    yield "land: from the stack to itself", IP(src=DST, dst=DST) / TCP(sport=dport, dport=dport, flags="S")
    for i, frag in enumerate(overlapping_fragments(sport, dport, seq, ack)):
        yield "overlapping fragment %d" % i, frag


def raw_ip(ihl=5, total=None):
    """A TCP packet whose IPv4 header length or total length lies, built
    by hand as bytes (scapy and raw IP sockets would fix them; main()
    writes them to tun0 through a packet socket), checksum right."""
    body = bytes(TCP(sport=1234, dport=7, flags="S"))
    total = 20 + len(body) if total is None else total
    header = bytearray(bytes(IP(src=SRC, dst=DST, proto=6, len=total)))[:20]
    header[0] = 0x40 | ihl
    header[10:12] = b"\0\0"
    checksum = 0
    for i in range(0, 20, 2):
        checksum += (header[i] << 8) | header[i + 1]
    while checksum >> 16:
        checksum = (checksum & 0xFFFF) + (checksum >> 16)
    header[10:12] = (~checksum & 0xFFFF).to_bytes(2, "big")
    return bytes(header) + body


def overlapping_fragments(sport, dport, seq, ack):
    """Teardrop-style: a second fragment that starts inside the first and
    one that ends before the first ends."""
    payload = bytes(TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags="PA") / Raw(b"o" * 64))
    yield IP(src=SRC, dst=DST, proto=6, id=0x4242, flags="MF", frag=0) / Raw(payload[:48])
    yield IP(src=SRC, dst=DST, proto=6, id=0x4242, frag=3) / Raw(payload[24:])
    yield IP(src=SRC, dst=DST, proto=6, id=0x4343, flags="MF", frag=0) / Raw(payload[:64])
    yield IP(src=SRC, dst=DST, proto=6, id=0x4343, frag=1) / Raw(payload[8:16])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sport", type=int, required=True)
    parser.add_argument("--dport", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ipv6", action="store_true", help="from 2001:db8::1 to 2001:db8::2")
    parser.add_argument("--iface", default="tun0")
    parser.add_argument("--mac", default=None,
                        help="the server's MAC address when --iface is an Ethernet (veth) link")
    args = parser.parse_args()
    conf.verb = 0
    rng = random.Random(args.seed)
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    sent = 0
    for _ in range(args.rounds):
        for name, packet in hostile_packets(args.sport, args.dport, rng, args.ipv6):
            if isinstance(packet, bytes):
                ethertype = 0x86DD if args.ipv6 and packet[0] >> 4 == 6 else 0x0800
                if args.mac:
                    # An Ethernet link needs the next hop's address.
                    raw.sendto(packet, (args.iface, ethertype, 0, 0, bytes.fromhex(args.mac.replace(":", ""))))
                else:
                    raw.sendto(packet, (args.iface, ethertype))
            else:
                send(packet)
            sent += 1
    print("sent %d hostile packets" % sent, flush=True)


if __name__ == "__main__":
    main()
