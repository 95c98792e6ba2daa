/**
 * Client addresses behind a load balancer (TRUSTED_PROXIES: addresses and CIDRs). Only a
 * connection from one of them is believed about the client: through the PROXY protocol (v1
 * or v2) at the start of the connection, else the rightmost address in X-Forwarded-For that
 * is not itself a trusted proxy (the hops left of it were written by whoever the client was,
 * so they prove nothing). From anyone else both are ignored (the header is dropped as before).
 */
import { BlockList, isIP } from "node:net";

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly size: number;

  /** `entries`: "10.0.0.0/8", "192.0.2.7", "2001:db8::/32"...; throws on anything else. */
  constructor(entries: string[]) {
    for (const entry of entries) {
      const [address, prefix] = entry.split("/");
      const family = isIP(address ?? "");
      const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
      if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128) || (prefix !== undefined && !/^\d+$/.test(prefix))) throw new Error(`not an address or CIDR: "${entry}"`);
      this.list.addSubnet(address!, bits, family === 4 ? "ipv4" : "ipv6");
    }
    this.size = entries.length;
  }

  trusts(ip: string): boolean {
    if (this.size === 0) return false;
    // An IPv4 peer on a dual-stack socket is written as ::ffff:a.b.c.d.
    const v4 = ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
    const family = isIP(v4);
    return family !== 0 && this.list.check(v4, family === 4 ? "ipv4" : "ipv6");
  }

  /** The client a trusted peer forwards for: the rightmost untrusted hop of X-Forwarded-For, or the peer when there is none. */
  clientFrom(peer: string, forwardedFor: string | null): string {
    if (forwardedFor === null) return peer;
    const hops = forwardedFor.split(",");
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!.trim();
      if (isIP(hop) === 0) return peer; // not an address: the header is not believed at all
      if (!this.trusts(hop)) return hop;
    }
    // Every hop a proxy of ours: the leftmost is the nearest thing to a client.
    return hops[0]!.trim();
  }
}

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/**
 * A PROXY protocol header at the start of `buf`: its length and the source address it names
 * (null for LOCAL / UNKNOWN: the connection is the proxy's own), "none" when `buf` does not
 * start with one, "incomplete" when more is needed, "invalid" when it is malformed.
 */
export function readProxyHeader(buf: Buffer): { length: number; source: string | null } | "none" | "incomplete" | "invalid" {
  if (buf.length >= 1 && buf[0] === 0x50) {
    // v1: "PROXY TCP4 1.2.3.4 5.6.7.8 1234 80\r\n", at most 107 bytes.
    const prefix = "PROXY ";
    for (let i = 0; i < Math.min(buf.length, prefix.length); i++) if (buf[i] !== prefix.charCodeAt(i)) return "none";
    const end = buf.indexOf("\r\n");
    if (end === -1) return buf.length > 107 ? "invalid" : "incomplete";
    const parts = buf.toString("latin1", 0, end).split(" ");
    if (parts[1] === "UNKNOWN") return { length: end + 2, source: null };
    if (parts.length !== 6 || (parts[1] !== "TCP4" && parts[1] !== "TCP6") || isIP(parts[2]!) !== (parts[1] === "TCP4" ? 4 : 6)) return "invalid";
    return { length: end + 2, source: parts[2]! };
  }
  if (buf.length >= 1 && buf[0] === 0x0d) {
    for (let i = 0; i < Math.min(buf.length, V2_SIGNATURE.length); i++) if (buf[i] !== V2_SIGNATURE[i]) return "none";
    if (buf.length < 16) return "incomplete";
    const command = buf[12]! & 0x0f;
    const family = buf[13]! >> 4;
    const length = 16 + buf.readUInt16BE(14);
    if (buf[12]! >> 4 !== 2 || command > 1) return "invalid";
    if (buf.length < length) return "incomplete";
    if (command === 0) return { length, source: null }; // LOCAL
    if (family === 1 && length >= 16 + 12) return { length, source: `${buf[16]}.${buf[17]}.${buf[18]}.${buf[19]}` };
    if (family === 2 && length >= 16 + 36) {
      const groups: string[] = [];
      for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(16 + 2 * i).toString(16));
      return { length, source: groups.join(":") };
    }
    return { length, source: null };
  }
  return "none";
}
