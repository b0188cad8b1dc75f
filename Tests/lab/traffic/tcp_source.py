#!/usr/bin/python3
"""tcp_source.py HOST PORT BYTES: sends BYTES pseudo-random bytes and prints
their sha256. After the first 64 KiB it prints "connected" and trickles 1 KiB
every 10 ms until a line arrives on stdin (the flow is in the fast path by
then), and then sends the rest at full speed."""
import hashlib, random, select, socket, sys

host, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(port)
data = rng.randbytes(total)
conn = socket.create_connection((host, port), timeout=30)
sent = min(65536, total)
conn.sendall(data[:sent])
print("connected", flush=True)
while sent < total and not select.select([sys.stdin], [], [], 0.01)[0]:
    conn.sendall(data[sent:sent + 1024])
    sent += 1024
conn.sendall(data[sent:])
conn.shutdown(socket.SHUT_WR)
conn.recv(1)
print(hashlib.sha256(data).hexdigest(), flush=True)
