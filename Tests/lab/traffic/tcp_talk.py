#!/usr/bin/python3
"""tcp_talk.py serve PORT FAMILY(4|6): accepts connections and echoes them;
prints "listening" once bound.
tcp_talk.py HOST PORT SECONDS INTERVAL SPORT: a long-lived connection from
source port SPORT sending a small message every INTERVAL seconds and reading
the echo, so the flow is ESTABLISHED (and offloaded) with known ports and
sequence numbers moving. Prints "talked N"."""
import socket, sys, threading, time

if sys.argv[1] == "serve":
    port, family = int(sys.argv[2]), sys.argv[3]
    server = socket.socket(socket.AF_INET6 if family == "6" else socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("::" if family == "6" else "0.0.0.0", port))
    server.listen(8)
    print("listening", flush=True)

    def echo(conn):
        while data := conn.recv(65536):
            conn.sendall(data)

    while True:
        threading.Thread(target=echo, args=(server.accept()[0],), daemon=True).start()

host, port, seconds, interval, sport = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
conn = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
conn.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
conn.bind(("::" if ":" in host else "0.0.0.0", sport))
conn.connect((host, port))
talked, end = 0, time.monotonic() + seconds
while time.monotonic() < end:
    conn.sendall(b"fastpath")
    conn.recv(64)
    talked += 1
    time.sleep(interval)
conn.close()
print("talked", talked, flush=True)
