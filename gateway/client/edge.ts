/**
 * The gateway's public listener, on raw sockets. Bun.serve spends CPU on every request before
 * any proxying (Request, Headers and Response objects, a promise) that counts next to what a
 * whole proxied request costs nginx (the README's performance section has the figures). So the edge
 * reads the requests that matter under a spike itself: body-less GETs and HEADs to proxied
 * routes (fast-reads.ts), and writes with one Content-Length (fast-writes.ts), answered in
 * order, the upstream's answer passed on byte for byte when it can be. Any other request
 * goes through a tunnel to the gateway's Elysia app on a loopback port (tunnel.ts).
 *
 * No client costs another its answers: heads the upstream would refuse are refused here
 * (431), bodies over the limit get their 413 and a lingering close, a client that reads
 * nothing is dropped by the send timeout or its buffer cap, and past the process's
 * capacity new requests get 503 at once (edge-limits.ts, shedding.ts).
 */
import type { TCPSocketListener } from "bun";
import { ClientConnection } from "./client-connection.ts";
import { DEFAULT_EDGE_LIMITS } from "./edge-limits.ts";
import type { EdgeOptions, EdgeState, ShedReason } from "./edge-state.ts";
import { CONNECTIONS_REFUSED } from "./shedding.ts";

export interface Edge {
  readonly port: number;
  /** The client a tunnel from `port` carries, for the app's x-forwarded-for. */
  clientOf(port: number): string | undefined;
  /** For the metrics: open client connections, bytes waiting for clients, requests shed by reason. */
  stats(): { connections: number; bufferedBytes: number; inFlight: number; shed: Record<ShedReason, number> };
  /** Stops accepting; idle connections close, busy ones after their answers. Resolves when all have. */
  stop(): Promise<void>;
}

export function startEdge(options: EdgeOptions): Edge {
  const limits = { ...DEFAULT_EDGE_LIMITS, ...options.limits };
  const state: EdgeState = {
    options,
    limits,
    connections: new Set(),
    perAddress: new Map(),
    tunnels: new Map(),
    budget: { bytes: 0 },
    inFlight: 0,
    sizes: new Map(),
    owed: 0,
    now: Date.now(),
    shed: { overload: 0, connections: 0, memory: 0 },
    lastCollection: 0,
    stopping: false,
    onAllClosed: null,
  };
  const tick = Math.max(50, Math.min(1000, Math.min(limits.headTimeoutMs, limits.bodyTimeoutMs, limits.sendTimeoutMs, limits.lingerMs) / 4));
  const sweeper = setInterval(() => {
    const now = Date.now();
    state.now = now;
    for (const conn of state.connections) conn.checkDeadlines(now);
  }, tick);
  sweeper.unref();
  // reusePort is not in Bun's types for listen, but Bun honours it (GATEWAY_WORKERS > 1).
  const listener: TCPSocketListener<ClientConnection> = Bun.listen<ClientConnection>({
    hostname: options.hostname,
    port: options.port,
    ...({ reusePort: options.reusePort } as object),
    socket: {
      open(socket) {
        const ip = socket.remoteAddress;
        const fromThere = state.perAddress.get(ip) ?? 0;
        // A trusted load balancer carries many clients: only the total cap applies to it.
        const trusted = options.trustedProxies?.trusts(ip) ?? false;
        if (state.connections.size >= limits.maxConnections || (!trusted && fromThere >= limits.maxConnectionsPerAddress)) {
          // Refused cheaply: one write, no state; the connections already open are served as before.
          state.shed.connections++;
          socket.end(CONNECTIONS_REFUSED);
          return;
        }
        const conn = new ClientConnection(socket, state, trusted);
        socket.data = conn;
        socket.setNoDelay(true);
        socket.timeout(options.idleTimeoutS);
        state.connections.add(conn);
        state.perAddress.set(ip, fromThere + 1);
        if (state.stopping) conn.close();
      },
      data: (socket, chunk) => socket.data?.onData(chunk),
      drain: (socket) => socket.data?.onDrain(),
      timeout: (socket) => socket.data?.onTimeout(),
      close: (socket) => socket.data?.onClose(),
      error: (socket) => socket.data?.terminate(),
    },
  });
  return {
    port: listener.port,
    clientOf: (port) => state.tunnels.get(port)?.clientIp,
    stats: () => ({ connections: state.connections.size, bufferedBytes: state.budget.bytes, inFlight: state.inFlight, shed: { ...state.shed } }),
    stop() {
      state.stopping = true;
      listener.stop();
      const done = () => clearInterval(sweeper);
      if (state.connections.size === 0) {
        done();
        return Promise.resolve();
      }
      const closed = new Promise<void>((resolve) => {
        state.onAllClosed = () => {
          done();
          resolve();
        };
      });
      for (const conn of state.connections) conn.close();
      return closed;
    },
  };
}
