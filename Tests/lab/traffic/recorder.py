#!/usr/bin/python3
"""recorder.py [--port P]... [--tos T] [--icmp]: records what this network
namespace receives, for the differential tests.

Every incoming IPv4/IPv6 TCP, UDP or ICMP packet (AF_PACKET, all interfaces;
outgoing copies skipped) that matches the filter is counted under
(ingress interface, src, dst, proto, sport, dport); for ICMP the "ports" are
type and code. Filter: a TCP/UDP packet matches if either port is one of
--port (any port without --port; fragments without the L4 header: ports -1,
always kept); ICMP only with --icmp, and never neighbour
discovery or MLD; --tos keeps only packets with that TOS/traffic class byte.
A packet not addressed to this host's MAC is counted under "IF(otherhost)".
Bytes are the IP packet's own length (header + payload).

Prints "listening" once the socket is open; on SIGTERM/SIGINT reads what is
still queued, then prints one JSON list of {if, src, dst, proto, sport,
dport, packets, bytes, first, last} (first/last: wall-clock seconds) and
exits. If the socket dropped packets (a full receive buffer) it prints why
instead and exits 1: an incomplete recording would be a false difference."""
import argparse, json, signal, socket, struct, sys, time

ETH_P_ALL, PACKET_OTHERHOST, PACKET_OUTGOING = 0x0003, 3, 4
SOL_PACKET, PACKET_STATISTICS, SO_RCVBUFFORCE = 263, 6, 33
PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}
ND_AND_MLD = set(range(130, 138)) | {143}

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, action="append", default=[])
parser.add_argument("--tos", type=lambda text: int(text, 0))
parser.add_argument("--icmp", action="store_true")
options = parser.parse_args()
ports = set(options.port)

records = {}
stopping = False


def stop(*_):
    global stopping
    stopping = True


def parse(frame):
    """(src, dst, proto, sport, dport, length) of an IP packet, or None."""
    ethertype, offset = struct.unpack_from("!H", frame, 12)[0], 14
    if ethertype in (0x8100, 0x88A8) and len(frame) >= 18:
        ethertype, offset = struct.unpack_from("!H", frame, 16)[0], 18
    if ethertype == 0x0800 and len(frame) >= offset + 20:
        ihl = (frame[offset] & 0x0F) * 4
        tos, length = frame[offset + 1], struct.unpack_from("!H", frame, offset + 2)[0]
        fragment = struct.unpack_from("!H", frame, offset + 6)[0] & 0x1FFF
        proto = frame[offset + 9]
        src = socket.inet_ntop(socket.AF_INET, frame[offset + 12:offset + 16])
        dst = socket.inet_ntop(socket.AF_INET, frame[offset + 16:offset + 20])
        l4 = offset + ihl if fragment == 0 else None
    elif ethertype == 0x86DD and len(frame) >= offset + 40:
        tos = (struct.unpack_from("!H", frame, offset)[0] >> 4) & 0xFF
        length = 40 + struct.unpack_from("!H", frame, offset + 4)[0]
        proto = frame[offset + 6]
        src = socket.inet_ntop(socket.AF_INET6, frame[offset + 8:offset + 24])
        dst = socket.inet_ntop(socket.AF_INET6, frame[offset + 24:offset + 40])
        l4 = offset + 40
        if proto == 44 and len(frame) >= l4 + 8:  # a fragment header: ports only in the first
            proto, first = frame[l4], struct.unpack_from("!H", frame, l4 + 2)[0] >> 3 == 0
            l4 = l4 + 8 if first else None
    else:
        return None
    if proto not in PROTO_NAMES or (options.tos is not None and tos != options.tos):
        return None
    sport = dport = -1
    if l4 is not None and proto in (6, 17) and len(frame) >= l4 + 4:
        sport, dport = struct.unpack_from("!HH", frame, l4)
    elif l4 is not None and proto in (1, 58) and len(frame) >= l4 + 2:
        sport, dport = frame[l4], frame[l4 + 1]
    if proto in (1, 58):
        if not options.icmp or (proto == 58 and sport in ND_AND_MLD):
            return None
    elif ports and sport != -1 and sport not in ports and dport not in ports:
        return None
    return src, dst, PROTO_NAMES[proto], sport, dport, length


def record(frame, address):
    if address[2] == PACKET_OUTGOING:
        return
    packet = parse(frame)
    if packet is None:
        return
    interface = address[0] + ("(otherhost)" if address[2] == PACKET_OTHERHOST else "")
    key = (interface,) + packet[:5]
    now = time.time()
    entry = records.setdefault(key, {"packets": 0, "bytes": 0, "first": now, "last": now})
    entry["packets"] += 1
    entry["bytes"] += packet[5]
    entry["last"] = now


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
try:  # as root, past net.core.rmem_max (212992 in VM guests)
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 1 << 24)
except PermissionError:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
sock.settimeout(0.1)
print("listening", flush=True)
while not stopping:
    try:
        record(*sock.recvfrom(65535))
    except (socket.timeout, InterruptedError):
        continue
# what arrived before the signal but was not read yet
sock.setblocking(False)
while True:
    try:
        record(*sock.recvfrom(65535))
    except InterruptedError:
        continue
    except BlockingIOError:
        break
# struct tpacket_stats: packets, drops since the socket opened (the first read)
_, drops = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
if drops:
    print(f"recorder.py: the socket dropped {drops} packets (receive buffer"
          f" {sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)} bytes): the recording is incomplete", flush=True)
    sys.exit(1)

result = [dict(zip(("if", "src", "dst", "proto", "sport", "dport"), key), **value) for key, value in records.items()]
json.dump(result, sys.stdout)
print(flush=True)
