#!/usr/bin/python3
"""tcp_source.py HOST PORT BYTES: sends BYTES pseudo-random bytes, slowly
enough at first for the flow to be mirrored, prints their sha256."""
import hashlib, random, socket, sys, time

host, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(port)
data = rng.randbytes(total)
conn = socket.create_connection((host, port), timeout=30)
conn.sendall(data[:65536])
time.sleep(2)  # the handshake is ASSURED and mirrored by now, even on a busy machine
conn.sendall(data[65536:])
conn.shutdown(socket.SHUT_WR)
conn.recv(1)
print(hashlib.sha256(data).hexdigest(), flush=True)
