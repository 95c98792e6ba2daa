/**
 * The requests a scenario sends, encoded once, picked by weight for each request. A request
 * can be made per user: then the generator mints each user's token itself and encodes that
 * user's copy of the request before the load starts, so picking stays an array lookup.
 */
import { mintAccessToken } from "../../dev/testing/tokens.ts";

export interface RequestSpec {
  weight: number;
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  /** A JSON body, sent with its Content-Type and Content-Length. */
  body?: string;
  /** Sent with a bearer token of a user of its own (see Users). */
  perUser?: boolean;
}

/** The users the per-user requests of one generator process are made for. */
export interface Users {
  /** The signing key of the stack under load. */
  secret: string;
  /**
   * How many users (each a fresh UUID) this process has: a closed model's most virtual users
   * (`per: "vu"`), or an open model's scheduled requests (`per: "request"`), of which each
   * per-user spec gets its share by weight, with some slack for the randomness of picking.
   */
  count: number;
  per: "vu" | "request";
}

export interface RequestMix {
  /**
   * `slot` is a closed model's virtual user, which keeps its user for the whole run; -1 (an
   * open model) takes the next user, so that every request is a different one until the
   * process's users are used up, and then they come round again.
   */
  pick(slot: number): Uint8Array;
}

// Long enough for any scenario and its drain; short enough that a leaked one is worthless.
const TOKEN_TTL_SECONDS = 3600;

/** A request's bytes before its bearer token (ending in "Bearer ") and after it; without one, all in `before`. */
function requestParts(spec: RequestSpec, host: string, withToken: boolean): { before: Buffer; after: Buffer } {
  let head = `${spec.method} ${spec.path} HTTP/1.1\r\nHost: ${host}\r\nAccept: application/json\r\n`;
  for (const [name, value] of Object.entries(spec.headers ?? {})) head += `${name}: ${value}\r\n`;
  const body = Buffer.from(spec.body ?? "");
  const tail = Buffer.from(`${spec.body === undefined ? "" : `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`}\r\n`, "latin1");
  if (!withToken) return { before: Buffer.concat([Buffer.from(head, "latin1"), tail, body]), after: Buffer.alloc(0) };
  return { before: Buffer.from(`${head}Authorization: Bearer `, "latin1"), after: Buffer.concat([Buffer.from("\r\n", "latin1"), tail, body]) };
}

function encodeRequest(spec: RequestSpec, host: string, token?: string): Uint8Array {
  const { before, after } = requestParts(spec, host, token !== undefined);
  return token === undefined ? before : Buffer.concat([before, Buffer.from(token, "latin1"), after]);
}

/**
 * One request per token, laid out in a single buffer: a scenario's users run to six figures,
 * and a buffer apiece (each with its own concatenation) costs several times the memory and
 * the time, all of it before the clock can start.
 */
function encodePerUser(spec: RequestSpec, host: string, tokens: string[]): Uint8Array[] {
  const { before, after } = requestParts(spec, host, true);
  const total = tokens.reduce((n, t) => n + before.length + t.length + after.length, 0);
  const all = Buffer.allocUnsafe(total);
  const views: Uint8Array[] = [];
  let at = 0;
  for (const token of tokens) {
    const from = at;
    at += before.copy(all, at);
    at += all.write(token, at, "latin1");
    at += after.copy(all, at);
    views.push(all.subarray(from, at));
  }
  return views;
}

/** One spec's encoded requests: one, or one per user, taken round. */
class Encoded {
  private next = 0;

  constructor(private readonly copies: Uint8Array[]) {}

  take(slot: number): Uint8Array {
    if (this.copies.length === 1) return this.copies[0]!;
    const i = slot >= 0 ? slot : this.next++;
    return this.copies[i % this.copies.length]!;
  }
}

export function requestMix(specs: RequestSpec[], host: string, users?: Users): RequestMix {
  if (specs.some((s) => s.perUser) && !users) throw new Error("a per-user request needs the users to mint tokens for");
  const total = specs.reduce((sum, s) => sum + s.weight, 0);
  const usersFor = (s: RequestSpec) => {
    const count = Math.max(1, users!.count);
    if (users!.per === "vu" || s.weight === total) return count;
    return Math.min(count, Math.ceil((count * s.weight * 1.1) / total) + 16);
  };
  // One token per user, shared by that user's requests of every spec.
  const now = Math.floor(Date.now() / 1000);
  const tokens: string[] = [];
  const tokenOf = (i: number) => (tokens[i] ??= mintAccessToken(users!.secret, crypto.randomUUID(), TOKEN_TTL_SECONDS, now));
  const encoded = specs.map((s) => new Encoded(s.perUser ? encodePerUser(s, host, Array.from({ length: usersFor(s) }, (_, i) => tokenOf(i))) : [encodeRequest(s, host)]));
  if (encoded.length === 1) {
    const only = encoded[0]!;
    return { pick: (slot) => only.take(slot) };
  }
  const cumulative = specs.map((_, i) => specs.slice(0, i + 1).reduce((sum, s) => sum + s.weight, 0) / total);
  return {
    pick(slot) {
      const r = Math.random();
      for (let i = 0; i < cumulative.length; i++) if (r < cumulative[i]!) return encoded[i]!.take(slot);
      return encoded[encoded.length - 1]!.take(slot);
    },
  };
}
