#!/usr/bin/python3
"""Floods that need a live connection, against a tuntcp echo server
(tests/hostile_live.rs). Run only inside the network namespace a test
created, the stack serving port 7 on tun0:

  /usr/bin/python3 scripts/craft/storms.py MODE [--conns N] [--count N] [--hold S]

It plays clients at 192.0.2.3, an address on tun0's subnet that the
kernel does not own (as scripts/craft/pmtu_fragments.py): the stack's
answers cross tun0, where a packet socket reads them, and the kernel
neither answers nor resets them. Modes, each bounded by --count packets
or --hold seconds:

  storm       in-window data segments at random places of each
              connection's window, as fast as scapy sends
  ooo         out-of-order data only: a hole at each connection's next
              byte, segments anywhere in the window past it
  tinymss     connections whose SYN says MSS 1..64, each asking for 2,000
              bytes of echo it never acknowledges
  zerowindow  connections that send 1,000 bytes and then keep their
              window closed, answering every probe with window 0

Prints "done MODE: ..." with what it sent; exits 1 if no connection
could be opened.
"""
import argparse
import random
import socket
import sys
import threading
import time

from scapy.all import IP, TCP, Raw, conf  # noqa: E402

CLIENT = "192.0.2.3"
STACK = "192.0.2.2"
ETH_P_ALL = 0x0003
TIMEOUT = 10.0


class Sniffer:
    """The stack's packets to CLIENT, by destination port; optionally
    answers each data segment (zero-window probes) through `on_data`."""

    def __init__(self, iface):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        self.sock.bind((iface, 0))
        self.sock.settimeout(0.2)
        self.syn_acks = {}
        self.cond = threading.Condition()
        self.on_data = None
        self.seen = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                data = self.sock.recv(70000)
            except socket.timeout:
                continue
            if len(data) < 40 or data[0] >> 4 != 4 or data[9] != 6:
                continue
            if socket.inet_ntoa(data[16:20]) != CLIENT:
                continue
            ihl = (data[0] & 0x0F) * 4
            tcp = data[ihl:]
            port = int.from_bytes(tcp[2:4], "big")
            flags = tcp[13]
            self.seen += 1
            if flags & 0x12 == 0x12:
                with self.cond:
                    self.syn_acks[port] = int.from_bytes(tcp[4:8], "big")
                    self.cond.notify_all()
            elif self.on_data and len(data) > ihl + (tcp[12] >> 4) * 4:
                self.on_data(port)

    def syn_ack(self, port):
        deadline = time.monotonic() + TIMEOUT
        with self.cond:
            while port not in self.syn_acks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.syn_acks[port]


class Conn:
    def __init__(self, sport, snd, rcv):
        self.sport, self.snd, self.rcv = sport, snd, rcv

    def seg(self, **kw):
        return IP(src=CLIENT, dst=STACK) / TCP(sport=self.sport, dport=7, **kw)


def open_conns(out, sniffer, count, mss=1460, window=65535):
    """`count` connections by handshake; those that got a SYN-ACK."""
    conns = []
    for i in range(count):
        sport = 20000 + random.randrange(20000)
        snd = random.getrandbits(32)
        mss_i = mss(i) if callable(mss) else mss
        out.send(IP(src=CLIENT, dst=STACK) / TCP(sport=sport, dport=7, flags="S", seq=snd, window=65535, options=[("MSS", mss_i)]))
        isn = sniffer.syn_ack(sport)
        if isn is None:
            continue
        conn = Conn(sport, snd + 1, (isn + 1) % 2**32)
        out.send(conn.seg(flags="A", seq=conn.snd, ack=conn.rcv, window=window))
        conns.append(conn)
    return conns


def flood_data(out, conns, count, hole):
    """`count` 1,000-byte segments spread over `conns`, placed at random
    in the first 64 KB of each window (past a 1,000-byte hole if `hole`)."""
    payload = Raw(b"s" * 1000)
    for n in range(count):
        conn = conns[n % len(conns)]
        offset = random.randrange(1000 if hole else 0, 64000) // 1000 * 1000
        seq = (conn.snd + offset) % 2**32
        out.send(conn.seg(flags="PA", seq=seq, ack=conn.rcv, window=65535) / payload)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["storm", "ooo", "tinymss", "zerowindow"])
    parser.add_argument("--conns", type=int, default=8)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--hold", type=float, default=5.0)
    parser.add_argument("--iface", default="tun0")
    args = parser.parse_args()
    conf.verb = 0
    random.seed(1)
    sniffer = Sniffer(args.iface)
    out = conf.L3socket()
    if args.mode == "tinymss":
        conns = open_conns(out, sniffer, args.conns, mss=lambda i: 1 + i % 64)
    elif args.mode == "zerowindow":
        conns = open_conns(out, sniffer, args.conns, window=0)
    else:
        conns = open_conns(out, sniffer, args.conns)
    if not conns:
        print("FAILED: no connection opened", flush=True)
        sys.exit(1)
    if args.mode in ("storm", "ooo"):
        flood_data(out, conns, args.count, args.mode == "ooo")
        sent = args.count
    else:
        by_port = {c.sport: c for c in conns}
        window = 0 if args.mode == "zerowindow" else 65535
        for conn in conns:
            out.send(conn.seg(flags="PA", seq=conn.snd, ack=conn.rcv, window=window) / Raw(b"z" * 2000))
            conn.snd += 2000
        if args.mode == "zerowindow":
            # Every probe is answered: still closed (RFC 9293 §3.8.6.1).
            sniffer.on_data = lambda port: port in by_port and out.send(
                by_port[port].seg(flags="A", seq=by_port[port].snd, ack=by_port[port].rcv, window=0))
        time.sleep(args.hold)
        sniffer.on_data = None
        sent = len(conns)
    for conn in conns:
        out.send(conn.seg(flags="R", seq=conn.snd))
    print("done %s: %d connections, %d sent, %d packets seen from the stack"
          % (args.mode, len(conns), sent, sniffer.seen), flush=True)


if __name__ == "__main__":
    main()
