#!/usr/bin/python3
"""udp_stream.py HOST PORT SECONDS INTERVAL [--announce]: sends numbered
datagrams for SECONDS (or until SIGINT), prints "sent N echoed M corrupt K":
M distinct echoes that came back byte for byte, K echoes that did not match
anything sent. With --announce it first prints "echoing" as soon as an echo
came back (the stream flows), or "no echo in 10 s" if none did by then."""
import signal, socket, sys, time

announce = "--announce" in sys.argv
arguments = [argument for argument in sys.argv[1:] if argument != "--announce"]
host, port, seconds, interval = arguments[0], int(arguments[1]), float(arguments[2]), float(arguments[3])
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
        announce_once("echoing")



end = time.monotonic() + seconds
started = time.monotonic()


def announce_once(line):
    global announce
    if announce:
        announce = False
        print(line, flush=True)


def stop_sending(signum, frame):
    global end
    end = 0


signal.signal(signal.SIGINT, stop_sending)
while time.monotonic() < end:
    sock.sendto(sent.to_bytes(4, "big") + TAIL, (host, port))
    sent += 1
    if time.monotonic() > started + 10:
        announce_once("no echo in 10 s")
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
