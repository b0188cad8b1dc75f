#!/usr/bin/python3
"""udp_echo.py PORT FAMILY(4|6): prints "listening" once bound, then echoes
every datagram back and prints each sender address once."""
import socket, sys

port, family = int(sys.argv[1]), sys.argv[2]
sock = socket.socket(socket.AF_INET6 if family == "6" else socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
sock.bind(("::" if family == "6" else "0.0.0.0", port))
print("listening", flush=True)
seen = set()
while True:
    data, peer = sock.recvfrom(65536)
    if peer[0] not in seen:
        seen.add(peer[0])
        print("from", peer[0], flush=True)
    sock.sendto(data, peer)
