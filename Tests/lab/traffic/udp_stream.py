#!/usr/bin/python3
"""udp_stream.py HOST PORT SECONDS INTERVAL: sends numbered datagrams for
SECONDS, prints "sent N echoed M" (distinct echoes of our own payloads)."""
import socket, sys, time

host, port, seconds, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
sock.settimeout(0)
sent, echoed = 0, set()
end = time.monotonic() + seconds
while time.monotonic() < end:
    sock.sendto(sent.to_bytes(4, "big") + b"fastpath" * 8, (host, port))
    sent += 1
    deadline = time.monotonic() + interval
    while time.monotonic() < deadline:
        try:
            echoed.add(int.from_bytes(sock.recv(2048)[:4], "big"))
        except BlockingIOError:
            time.sleep(0.0005)
# the last echoes may lag on a busy machine: wait up to 3 s for them
sock.settimeout(0.2)
end = time.monotonic() + 3
while len(echoed) < sent and time.monotonic() < end:
    try:
        echoed.add(int.from_bytes(sock.recv(2048)[:4], "big"))
    except socket.timeout:
        pass
print("sent", sent, "echoed", len(echoed), flush=True)
