import { readFileSync } from "node:fs";

/**
 * Ports freePort has handed out in this process. The kernel gives a port it has just released
 * again soon, so a stack that asks for its database's and its services' ports one after the
 * other could get one number twice, and whichever listened second failed to start.
 */
const handedOut = new Set<number>();

/** A TCP port on 127.0.0.1 that nothing listens on right now, never one this process was given before. */
export function freePort(): number {
  for (let tries = 0; tries < 1000; tries++) {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = server.port;
    server.stop(true);
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no port that this process was not given before");
}

/** Whether a service could listen on `port` on every address (what the gateway does) right now. */
export const portIsFree = (port: number): boolean => canListen("0.0.0.0", port);

function canListen(hostname: string, port: number): boolean {
  try {
    Bun.listen({ hostname, port, socket: { data() {} } }).stop(true);
    return true;
  } catch {
    return false;
  }
}

/**
 * A TCP port on 127.0.0.1 that nothing listens on, below the kernel's ephemeral range: for a
 * peer that must be refused. A closed port inside that range can be handed to the connection
 * itself as its source port, and the connection then reaches itself (TCP simultaneous open)
 * and waits for an answer that never comes.
 */
export function closedPort(): number {
  const low = ephemeralRangeStart();
  for (let tries = 0; tries < 100; tries++) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if (canListen("127.0.0.1", port)) return port;
  }
  throw new Error(`no closed port found between 10000 and ${low}`);
}

function ephemeralRangeStart(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 11_000) return low;
  } catch {
    // not Linux: every other kernel's range starts higher
  }
  return 32_768;
}
