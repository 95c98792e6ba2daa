/** TCP connections as the kernel has them (/proc), for tests of how many a process keeps. */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

const ESTABLISHED = "01";

/** The established TCP connections process `pid` holds to `port` (on any address). */
export function connectionsOf(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith("socket:[")) inodes.add(target.slice(8, -1));
    } catch {
      // closed meanwhile
    }
  }
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let n = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue; // no IPv6 on this machine
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === ESTABLISHED && f[2]?.endsWith(hexPort) && inodes.has(f[9]!)) n++;
    }
  }
  return n;
}
