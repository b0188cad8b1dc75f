#!/usr/bin/python3
"""tcp_sink.py PORT FAMILY(4|6) [TIMEOUT]: accepts one connection, reads it to
the end, prints "<sha256> <peer address>". Prints "timeout" if none came."""
import hashlib, socket, sys

port, family = int(sys.argv[1]), sys.argv[2]
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 30
server = socket.socket(socket.AF_INET6 if family == "6" else socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("::" if family == "6" else "0.0.0.0", port))
server.listen(1)
server.settimeout(timeout)
print("listening", flush=True)
try:
    conn, peer = server.accept()
except socket.timeout:
    print("timeout", flush=True)
    sys.exit(0)
conn.settimeout(timeout)
digest = hashlib.sha256()
while True:
    chunk = conn.recv(65536)
    if not chunk:
        break
    digest.update(chunk)
print(digest.hexdigest(), peer[0], flush=True)
