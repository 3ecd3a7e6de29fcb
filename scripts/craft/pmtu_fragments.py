#!/usr/bin/python3
"""Path MTU discovery and IPv4 reassembly on a live tuntcp echo server
(tests/icmp_live.rs).

Run only inside the network namespace a test created, with `tuntcp echo
--no-offload` serving port 7 on tun0:

  /usr/bin/python3 scripts/craft/pmtu_fragments.py [--iface tun0]

It plays a client at 192.0.2.3, an address on tun0's subnet that the
kernel does not own: the stack's answers cross tun0, where a packet
socket reads them, and the kernel, which does not forward, neither
answers nor resets them. Then:

1. reassembly: one data segment sent in 16-byte IP fragments, last first,
   must come back echoed (RFC 791, RFC 815);
2. path MTU: 3000 bytes are echoed in 1460-byte segments, which the
   client leaves unacknowledged; an ICMP "fragmentation needed" with
   next-hop MTU 1000 quoting the first of them must make the stack send
   everything again in datagrams of at most 1000 bytes with DF set
   (RFC 1191).

Prints one line per check; exits 1 with the reason if a check fails.
"""
import argparse
import socket
import struct
import sys
import threading
import time

from scapy.all import IP, TCP, Raw, conf, fragment, send  # noqa: E402

CLIENT = "192.0.2.3"
STACK = "192.0.2.2"
ROUTER = "192.0.2.1"
ETH_P_ALL = 0x0003
TIMEOUT = 10.0


class Sniffer:
    """Every IPv4 packet from the stack to CLIENT seen on the interface."""

    def __init__(self, iface):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        self.sock.bind((iface, 0))
        self.sock.settimeout(0.2)
        self.packets = []
        self.cond = threading.Condition()
        self.running = True
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(70000)
            except socket.timeout:
                continue
            if len(data) < 20 or data[0] >> 4 != 4:
                continue
            if socket.inet_ntoa(data[12:16]) != STACK or socket.inet_ntoa(data[16:20]) != CLIENT:
                continue
            with self.cond:
                self.packets.append(data)
                self.cond.notify_all()

    def wait(self, what, predicate, start=0):
        """The first packet from index `start` on that `predicate` accepts."""
        deadline = time.monotonic() + TIMEOUT
        with self.cond:
            while True:
                for index in range(start, len(self.packets)):
                    if predicate(IP(self.packets[index])):
                        return index, self.packets[index]
                left = deadline - time.monotonic()
                if left <= 0:
                    fail("no %s from the stack within %.0f s" % (what, TIMEOUT))
                self.cond.wait(left)

    def count(self):
        with self.cond:
            return len(self.packets)


def fail(reason):
    print("FAILED: " + reason, flush=True)
    sys.exit(1)


def internet_checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def frag_needed(original, mtu):
    """ICMP type 3 code 4 (RFC 1191 §4) quoting `original`'s IP header and
    first 8 bytes of TCP, as a router sends it."""
    quoted = original[: (original[0] & 0x0F) * 4 + 8]
    body = struct.pack("!BBHHH", 3, 4, 0, 0, mtu) + quoted
    body = body[:2] + struct.pack("!H", internet_checksum(body)) + body[4:]
    return IP(src=ROUTER, dst=STACK, proto=1) / Raw(body)


def has_data(packet):
    return TCP in packet and len(packet[TCP].payload) > 0


def echoed(sniffer, rcv, length, start, acknowledge=None):
    """Bytes the stack sent from sequence number `rcv` on, `length` of
    them, in the packets from index `start`; and the packets used. With
    `acknowledge`, each is acknowledged as it comes, as a real client
    would (Nagle holds the stack's last small piece until then)."""
    data = bytearray()
    used = []
    while len(data) < length:
        want = rcv + len(data)
        index, raw = sniffer.wait(
            "echo of byte %d" % len(data),
            lambda p: has_data(p) and p[TCP].seq == want % 2**32,
            start,
        )
        packet = IP(raw)
        data += bytes(packet[TCP].payload)
        used.append(packet)
        if acknowledge:
            acknowledge(rcv + len(data))
        start = index + 1
    return bytes(data[:length]), used, start


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iface", default="tun0")
    parser.add_argument("--dport", type=int, default=7)
    parser.add_argument("--sport", type=int, default=40123)
    args = parser.parse_args()
    conf.verb = 0
    sniffer = Sniffer(args.iface)
    ip = IP(src=CLIENT, dst=STACK)
    tcp = lambda **kw: TCP(sport=args.sport, dport=args.dport, **kw)

    snd = 1000
    send(ip / tcp(flags="S", seq=snd, options=[("MSS", 1460)]))
    _, raw = sniffer.wait("SYN-ACK", lambda p: TCP in p and p[TCP].flags.S and p[TCP].flags.A)
    rcv = IP(raw)[TCP].seq + 1
    snd += 1
    send(ip / tcp(flags="A", seq=snd, ack=rcv))

    # 1. A segment in 16-byte fragments, sent last first.
    text = b"put back together from 16-byte fragments\n" * 4
    fragments = fragment(ip / tcp(flags="PA", seq=snd, ack=rcv) / Raw(text), fragsize=16)
    for piece in reversed(fragments):
        send(piece)
    data, _, _ = echoed(sniffer, rcv, len(text), 0)
    if data != text:
        fail("the reassembled segment came back different")
    snd += len(text)
    rcv += len(text)
    send(ip / tcp(flags="A", seq=snd, ack=rcv))
    print("reassembly ok: %d fragments, %d bytes echoed" % (len(fragments), len(data)), flush=True)

    # 2. 3000 bytes echoed in full-sized segments, left unacknowledged.
    bulk = bytes((i * 7) % 251 for i in range(3000))
    for offset in range(0, len(bulk), 1460):
        piece = bulk[offset : offset + 1460]
        send(ip / tcp(flags="PA", seq=snd + offset, ack=rcv) / Raw(piece))
    snd += len(bulk)
    _, first = sniffer.wait(
        "1500-byte echo segment",
        lambda p: has_data(p) and p[TCP].seq == rcv and p.len == 1500,
    )
    before = sniffer.count()
    send(frag_needed(first, 1000))
    acknowledge = lambda upto: send(ip / tcp(flags="A", seq=snd, ack=upto))
    data, after, _ = echoed(sniffer, rcv, len(bulk), before, acknowledge)
    if data != bulk:
        fail("the data sent again after the ICMP error differs")
    largest = max(p.len for p in after)
    if largest > 1000:
        fail("a %d-byte datagram after next-hop MTU 1000" % largest)
    if not all(p.flags.DF for p in after):
        fail("DF not set after the ICMP error")
    send(ip / tcp(flags="A", seq=snd, ack=rcv + len(bulk)))
    sizes = [p.len for p in after]
    print("pmtu ok: after the ICMP error %d segments, IP lengths %s" % (len(after), sizes), flush=True)
    send(ip / tcp(flags="R", seq=snd))
    sniffer.running = False


if __name__ == "__main__":
    main()
