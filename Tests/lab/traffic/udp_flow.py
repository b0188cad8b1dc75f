#!/usr/bin/python3
"""udp_flow.py HOST PORT COUNT INTERVAL [--sport P] [--source ADDR] [--size N]
[--ttl N] [--df]: sends exactly COUNT datagrams of SIZE bytes, one every
INTERVAL seconds, from a fixed source port (so a flow is one conntrack
entry and the same in every run), then prints "sent COUNT". Replies are read
and discarded (the receivers' recorders count them)."""
import argparse, socket, time

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
start = time.monotonic()
for sequence in range(options.count):
    try:
        sock.sendto(sequence.to_bytes(4, "big") + payload[4:], (options.host, options.port))
    except OSError:
        pass  # an ICMP error reported on the socket: the recorders count what arrived
    while time.monotonic() < start + (sequence + 1) * options.interval:
        try:
            sock.recv(65536)
        except (BlockingIOError, OSError):
            time.sleep(0.0005)
print("sent", options.count, flush=True)
