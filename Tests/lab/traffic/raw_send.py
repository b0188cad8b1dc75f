#!/usr/bin/python3
"""raw_send.py IFACE DSTMAC KIND COUNT INTERVAL SRC DST SPORT DPORT [--tos T]:
sends COUNT crafted frames out of IFACE (AF_PACKET, so nothing of the host's
stack touches them: any source address, any TCP flags, any lengths).
KIND: udp, or a TCP segment the kernel calls invalid:
  tcp-none (no flags), tcp-urg (URG only), tcp-psh (PSH only),
  tcp-doff4 (data offset 4 < 5), tcp-beyond (the IP total length ends
  inside the TCP header; the frame still carries the whole header).
Checksums are right, so the only fault is the intended one. Prints "sent N"."""
import argparse, socket, struct, time

parser = argparse.ArgumentParser()
for name in ("iface", "dstmac", "kind"):
    parser.add_argument(name)
parser.add_argument("count", type=int)
parser.add_argument("interval", type=float)
parser.add_argument("src")
parser.add_argument("dst")
parser.add_argument("sport", type=int)
parser.add_argument("dport", type=int)
parser.add_argument("--tos", type=lambda text: int(text, 0), default=0)
options = parser.parse_args()
v6 = ":" in options.dst
family = socket.AF_INET6 if v6 else socket.AF_INET


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo_header(proto, length):
    src, dst = socket.inet_pton(family, options.src), socket.inet_pton(family, options.dst)
    if v6:
        return src + dst + struct.pack("!IxxxB", length, proto)
    return src + dst + struct.pack("!xBH", proto, length)


def layer4(sequence):
    """(proto, L4 bytes, how many of them the IP length covers)."""
    payload = b"fastpath" + sequence.to_bytes(4, "big")
    if options.kind == "udp":
        header = struct.pack("!HHHH", options.sport, options.dport, 8 + len(payload), 0)
        segment = header + payload
        value = checksum(pseudo_header(17, len(segment)) + segment) or 0xFFFF
        return 17, segment[:6] + struct.pack("!H", value) + segment[8:], len(segment)
    flags = {"tcp-none": 0, "tcp-urg": 0x20, "tcp-psh": 0x08, "tcp-doff4": 0x10, "tcp-beyond": 0x10}[options.kind]
    doff = 4 if options.kind == "tcp-doff4" else 5
    header = struct.pack("!HHIIBBHHH", options.sport, options.dport, 1000 + sequence, 1,
                         doff << 4, flags, 65535, 0, 0)
    segment = header + payload
    value = checksum(pseudo_header(6, len(segment)) + segment)
    segment = segment[:16] + struct.pack("!H", value) + segment[18:]
    return 6, segment, 12 if options.kind == "tcp-beyond" else len(segment)


def frame(sequence):
    proto, segment, covered = layer4(sequence)
    src, dst = socket.inet_pton(family, options.src), socket.inet_pton(family, options.dst)
    if v6:
        ip = struct.pack("!IHBB", (6 << 28) | (options.tos << 20), covered, proto, 64) + src + dst
        ethertype = 0x86DD
    else:
        ip = struct.pack("!BBHHHBBH", 0x45, options.tos, 20 + covered, sequence & 0xFFFF, 0, 64, proto, 0) + src + dst
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        ethertype = 0x0800
    mine = open("/sys/class/net/%s/address" % options.iface).read().strip()
    macs = bytes.fromhex(options.dstmac.replace(":", "")) + bytes.fromhex(mine.replace(":", ""))
    return macs + struct.pack("!H", ethertype) + ip + segment


sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((options.iface, 0))
for sequence in range(options.count):
    sock.send(frame(sequence))
    time.sleep(options.interval)
print("sent", options.count, flush=True)
