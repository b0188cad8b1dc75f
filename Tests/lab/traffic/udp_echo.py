#!/usr/bin/python3
"""udp_echo.py PORT FAMILY(4|6) [ADDRESS] [--echo-first N]: prints
"listening" once bound (to ADDRESS, so replies come from it; any address
without), then echoes every datagram back (only the first N with
--echo-first) and prints each sender address once."""
import socket, sys

args = sys.argv[1:]
limit = None
if "--echo-first" in args:
    at = args.index("--echo-first")
    limit = int(args[at + 1])
    del args[at:at + 2]
sys.argv[1:] = args
port, family = int(sys.argv[1]), sys.argv[2]
sock = socket.socket(socket.AF_INET6 if family == "6" else socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
address = sys.argv[3] if len(sys.argv) > 3 else ("::" if family == "6" else "0.0.0.0")
sock.bind((address, port))
print("listening", flush=True)
seen = set()
while True:
    data, peer = sock.recvfrom(65536)
    if peer[0] not in seen:
        seen.add(peer[0])
        print("from", peer[0], flush=True)
    if limit is None or limit > 0:
        sock.sendto(data, peer)
        limit = None if limit is None else limit - 1
