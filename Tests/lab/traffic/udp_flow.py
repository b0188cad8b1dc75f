#!/usr/bin/python3
"""udp_flow.py HOST PORT COUNT INTERVAL [--sport P] [--source ADDR] [--size N]
[--ttl N] [--df] [--gate N]: sends exactly COUNT datagrams of SIZE bytes, one
every INTERVAL seconds, from a fixed source port (so a flow is one conntrack
entry and the same in every run), then prints "sent COUNT".

With --gate N it sends the first N datagrams, prints "gated", and sends the
rest only after a line arrives on stdin (e.g. once the daemon runs): the
counts are the same in every run, whatever happened during the pause.

Replies are read and discarded (the receivers' recorders count them); after
the last send it keeps reading until every datagram has been answered or
nothing came for 2 s, so a late reply reaches a socket that is still open."""
import argparse, select, socket, sys, time

parser = argparse.ArgumentParser()
parser.add_argument("host")
parser.add_argument("port", type=int)
parser.add_argument("count", type=int)
parser.add_argument("interval", type=float)
parser.add_argument("--sport", type=int, default=0)
parser.add_argument("--source", default="")
parser.add_argument("--size", type=int, default=64)
parser.add_argument("--ttl", type=int)
parser.add_argument("--df", action="store_true")
parser.add_argument("--gate", type=int)
options = parser.parse_args()

v6 = ":" in options.host
sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind((options.source or ("::" if v6 else "0.0.0.0"), options.sport))
if options.ttl is not None:
    sock.setsockopt(socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP,
                    socket.IPV6_UNICAST_HOPS if v6 else socket.IP_TTL, options.ttl)
if options.df:  # IP_PMTUDISC_PROBE: DF set, and the host's own PMTU cache ignored
    sock.setsockopt(socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP,
                    23 if v6 else 10, 3)  # IPV6_MTU_DISCOVER, IP_MTU_DISCOVER
sock.setblocking(False)
payload = b"x" * options.size
replies = 0


def drain():
    """Reads every reply waiting; True if there was one."""
    global replies
    got = False
    while True:
        try:
            sock.recv(65536)
        except BlockingIOError:
            return got
        except OSError:
            continue  # an ICMP error reported on the socket
        replies += 1
        got = True


def send(sequences):
    start = time.monotonic()
    for index, sequence in enumerate(sequences):
        try:
            sock.sendto(sequence.to_bytes(4, "big") + payload[4:], (options.host, options.port))
        except OSError:
            pass  # an ICMP error reported on the socket: the recorders count what arrived
        while time.monotonic() < start + (index + 1) * options.interval:
            if not drain():
                time.sleep(0.0005)


gate = options.count if options.gate is None else min(options.gate, options.count)
send(range(gate))
if options.gate is not None:
    print("gated", flush=True)
    sys.stdin.readline()
send(range(gate, options.count))
quiet_since = time.monotonic()
while replies < options.count and time.monotonic() < quiet_since + 2:
    select.select([sock], [], [], 0.1)
    if drain():
        quiet_since = time.monotonic()
print("sent", options.count, flush=True)
