#!/usr/bin/python3
"""udp_stream.py HOST PORT SECONDS INTERVAL: sends numbered datagrams for
SECONDS (or until SIGINT), prints "sent N echoed M corrupt K": M distinct
echoes that came back byte for byte, K echoes that did not match anything
sent."""
import signal, socket, sys, time

host, port, seconds, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
sock.settimeout(0)
TAIL = b"fastpath" * 8
sent, echoed, corrupt = 0, set(), 0


def take(data):
    global corrupt
    seq = int.from_bytes(data[:4], "big")
    if len(data) != 4 + len(TAIL) or data[4:] != TAIL or seq >= sent:
        corrupt += 1
    else:
        echoed.add(seq)



end = time.monotonic() + seconds


def stop_sending(signum, frame):
    global end
    end = 0


signal.signal(signal.SIGINT, stop_sending)
while time.monotonic() < end:
    sock.sendto(sent.to_bytes(4, "big") + TAIL, (host, port))
    sent += 1
    deadline = time.monotonic() + interval
    while time.monotonic() < deadline:
        try:
            take(sock.recv(2048))
        except BlockingIOError:
            time.sleep(0.0005)
# the last echoes may lag on a busy machine: wait up to 3 s for them
sock.settimeout(0.2)
end = time.monotonic() + 3
while len(echoed) < sent and time.monotonic() < end:
    try:
        take(sock.recv(2048))
    except socket.timeout:
        pass
print("sent", sent, "echoed", len(echoed), "corrupt", corrupt, flush=True)
