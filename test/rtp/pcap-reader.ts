import { readFileSync } from 'node:fs';

/**
 * A tiny libpcap reader for tests: the UDP payloads of an Ethernet/IPv4 capture, with their
 * capture time. The format: a 24-byte global header (magic tells the byte order, link type at
 * byte 20), then per packet a 16-byte record header (seconds, microseconds, captured length,
 * original length) and the captured bytes.
 */
export interface PcapUdp {
  timeMs: number;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

export function readPcapUdp(path: string): PcapUdp[] {
  const file = readFileSync(path);
  const magic = file.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4;
  if (!le && magic !== 0xd4c3b2a1) throw new Error(`${path}: not a pcap file`);
  const u32 = (o: number): number => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const linkType = u32(20);
  if (linkType !== 1) throw new Error(`${path}: link type ${linkType}, only Ethernet (1) supported`);
  const out: PcapUdp[] = [];
  let o = 24;
  while (o + 16 <= file.length) {
    const sec = u32(o);
    const usec = u32(o + 4);
    const caplen = u32(o + 8);
    const frame = file.subarray(o + 16, o + 16 + caplen);
    o += 16 + caplen;
    if (frame.readUInt16BE(12) !== 0x0800) continue; // IPv4 only
    const ihl = (frame[14]! & 0x0f) * 4;
    if (frame[14 + 9] !== 17) continue; // UDP only
    const udp = 14 + ihl;
    const udpLength = frame.readUInt16BE(udp + 4);
    out.push({
      timeMs: sec * 1000 + usec / 1000,
      srcPort: frame.readUInt16BE(udp),
      dstPort: frame.readUInt16BE(udp + 2),
      payload: frame.subarray(udp + 8, udp + udpLength),
    });
  }
  return out;
}
