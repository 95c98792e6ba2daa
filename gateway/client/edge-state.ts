/** What the edge is started with, and what it keeps for all its client connections together. */
import type { Logger } from "../../lib/log.ts";
import type { Budget } from "../http1/socket-outbox.ts";
import type { RequestProxy } from "../proxy.ts";
import type { EdgeLimits } from "./edge-limits.ts";
import type { TrustedProxies } from "./trusted-proxies.ts";

export interface EdgeOptions {
  hostname: string;
  port: number;
  reusePort: boolean;
  /** Where the gateway's app listens, for everything the edge does not answer itself. */
  app: { hostname: string; port: number };
  proxy: RequestProxy;
  /** Seconds a connection may wait for a client's request. */
  idleTimeoutS: number;
  /** Largest request body. */
  bodyLimit: number;
  limits?: Partial<EdgeLimits>;
  /** Load balancers whose word on the client's address is taken (PROXY protocol, X-Forwarded-For). */
  trustedProxies?: TrustedProxies;
  log: Logger;
}

export type ShedReason = "overload" | "connections" | "memory";

/** What the sweeper, the memory relief and a stop ask of each client connection. */
export interface EdgeConnection {
  /** Bytes waiting to be written to this client. */
  readonly buffered: number;
  checkDeadlines(now: number): void;
  close(): void;
  terminate(): void;
  onClose(): void;
}

export interface EdgeState {
  readonly options: EdgeOptions;
  readonly limits: EdgeLimits;
  readonly connections: Set<EdgeConnection>;
  readonly perAddress: Map<string, number>;
  /** Each tunnel to the app by its local port, for the client it carries (the app learns it from there). */
  readonly tunnels: Map<number, { readonly clientIp: string }>;
  /** Bytes waiting in every client's and tunnel's outbox. */
  readonly budget: Budget;
  /** Requests taken and not yet answered, in the whole process. */
  inFlight: number;
  /** The latest answer's size for each fast-lane target, and the bytes expected for the requests in flight so estimated. */
  readonly sizes: Map<string, number>;
  owed: number;
  /** A coarse clock (the sweeper's), so that the hot path reads no clock. */
  now: number;
  readonly shed: Record<ShedReason, number>;
  /** When memory pressure last asked for a garbage collection. */
  lastCollection: number;
  stopping: boolean;
  onAllClosed: (() => void) | null;
}

/** Pipelined requests taken from one connection before its answers; then it is read no further until they are out. */
export const MAX_IN_FLIGHT = 32;
/** Answer bytes a connection may be owed or hold before it is read further (known from each target's last answer). */
export const PIPELINE_BYTES = 1024 * 1024;
