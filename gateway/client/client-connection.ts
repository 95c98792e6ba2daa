/**
 * One client connection on the edge: the bytes it sends are cut into requests, and each goes
 * to its lane in turn (fast-reads.ts, fast-writes.ts, tunnel.ts) while its answers keep their
 * order (connection-state.ts). The simple requests a spike is made of are read here and
 * never reach Bun's own HTTP server; anything else is the app's, through the tunnel.
 */
import { requestIdFrom } from "../../lib/request-id.ts";
import { ChunkedScanner } from "./chunked-scanner.ts";
import { ConnectionState, Deadline } from "./connection-state.ts";
import { HIGH_WATER_BYTES, MAX_HEAD_BYTES, MAX_HEADER_LINES } from "./edge-limits.ts";
import { MAX_IN_FLIGHT, type EdgeConnection } from "./edge-state.ts";
import { Read, takeRead } from "./fast-reads.ts";
import { endWrite, readBody, takeWrite, Write } from "./fast-writes.ts";
import { hasBareLineFeed } from "../http1/header-lines.ts";
import { frameRequest } from "./request-framing.ts";
import { parseSimpleHead } from "./request-head.ts";
import { passBody, toApp } from "./tunnel.ts";
import { readProxyHeader } from "./trusted-proxies.ts";

const CRLFCRLF = Buffer.from("\r\n\r\n");

export class ClientConnection extends ConnectionState implements EdgeConnection {
  onData(chunk: Buffer): void {
    if (this.ended) return;
    if (this.closing && this.bodyLeft === -1 && this.chunked === null && this.writing === null) {
      // Refused or closing: what the client still sends is read and dropped, up to a bound.
      this.lingerRead += chunk.length;
      if (this.lingerRead > this.edge.limits.lingerBytes) this.terminate();
      return;
    }
    this.buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.proxyHeaderPending && !this.readProxyHeader()) return;
    this.consume();
  }

  /** A trusted proxy's connection may start with a PROXY header: false while more of it is needed. */
  private readProxyHeader(): boolean {
    const header = readProxyHeader(this.buf!);
    if (header === "incomplete") return false;
    this.proxyHeaderPending = false;
    if (header === "none") return true;
    if (header === "invalid") {
      this.refuse(400, "BAD_REQUEST", "Malformed PROXY protocol header");
      return false;
    }
    if (header.source !== null) this.clientIp = header.source;
    // A layer-4 proxy: what the client writes in X-Forwarded-For is the client's own word.
    this.believeForwarded = false;
    this.buf = this.buf!.length === header.length ? null : this.buf!.subarray(header.length);
    return true;
  }

  /**
   * Takes the requests in `buf` in turn, as far as the connection's state allows. A proxied
   * request starts here; its hops: the client's socket (onData) -> its head parsed
   * (request-head.ts) -> route, token and limits (the proxy, and shedding here) -> the pool
   * (upstream/balancer.ts, upstream/pool.ts) -> the upstream -> its answer read
   * (upstream/connection.ts) -> the client's outbox, in the order the requests came
   * (connection-state.ts).
   */
  consume(): void {
    let buf = this.buf;
    if (buf === null) return;
    this.buf = null;
    let at = 0;
    const limits = this.edge.limits;
    while (at < buf.length) {
      if (this.bodyLeft !== -1 || this.chunked !== null) {
        at = passBody(this, buf, at);
        if (at < 0) return;
        continue;
      }
      if (this.writing !== null) {
        at = readBody(this, buf, at);
        if (at < 0) return;
        continue;
      }
      if (this.closing) {
        this.lingerRead += buf.length - at;
        at = buf.length;
        break;
      }
      if (this.tunnelled !== null) break; // its answer first
      if (this.answers.length >= MAX_IN_FLIGHT || this.out.size > HIGH_WATER_BYTES) {
        this.pause();
        break;
      }
      const end = buf.indexOf(CRLFCRLF, at);
      if (end === -1 ? buf.length - at > MAX_HEAD_BYTES : end + 4 - at > MAX_HEAD_BYTES) return this.refuse(431, "HEADERS_TOO_LARGE", "The request head is too large");
      if (end === -1) {
        if (hasBareLineFeed(buf, at)) return this.refuse(400, "BAD_REQUEST", "The request is not HTTP/1.1 the gateway can read");
        break;
      }
      const text = buf.toString("latin1", at, end);
      const head = parseSimpleHead(text);
      if (head !== null && head.headers <= MAX_HEADER_LINES && head.contentLength !== -1) {
        if (head.contentLength > this.edge.options.bodyLimit) return this.tooLarge(head.requestId);
        this.requests++;
        if (this.shedding(head.requestId)) return this.close(true);
        const taken = takeWrite(this, head, buf.length - end - 4);
        if (taken === Write.BodyNext) {
          at = end + 4;
          // An empty body is whole already: nothing more need arrive.
          if (head.contentLength === 0) at = readBody(this, buf, at);
          continue;
        }
        if (taken === Write.Answered) {
          // Refused: a body already here is skipped and the connection goes on; one still to
          // come is not waited for.
          if (buf.length - end - 4 < head.contentLength) return this.close(true);
          at = end + 4 + head.contentLength;
          if (head.close) this.close();
          continue;
        }
        // Not a route the gateway proxies: the app's.
      } else if (head !== null && head.headers <= MAX_HEADER_LINES) {
        const taken = takeRead(this, head);
        if (taken === Read.Held) break;
        if (taken === Read.Taken) {
          at = end + 4;
          continue;
        }
        // Not a route the gateway proxies: the app's.
      }
      const frame = frameRequest(text);
      if (frame === null) return this.refuse(400, "BAD_REQUEST", "The request is not HTTP/1.1 the gateway can read");
      if (frame.headers > MAX_HEADER_LINES) return this.refuse(431, "HEADERS_TOO_LARGE", "The request has too many header lines", frame.requestId);
      if (frame.contentLength > this.edge.options.bodyLimit) return this.tooLarge(frame.requestId);
      if (frame.expectContinue) {
        // Refused before the client uploads its body for nothing (the app's server would say 100 Continue first).
        const refusal = this.edge.options.proxy.refusal(frame.method, frame.path, frame.authorization, requestIdFrom(frame.requestId));
        if (refusal !== null) return this.refuseWith(refusal);
      }
      const hasBody = frame.chunked || frame.contentLength > 0;
      this.requests++;
      if (this.shedding(frame.requestId)) {
        if (hasBody) return this.close(true);
        at = end + 4;
        continue;
      }
      toApp(this, buf, at, end, frame);
      at = end + 4;
      if (frame.chunked) this.chunked = new ChunkedScanner();
      else if (frame.contentLength > 0) this.bodyLeft = frame.contentLength;
      if (hasBody) this.deadlines[Deadline.Body] = this.edge.now + limits.bodyTimeoutMs;
      if (frame.close) this.closing = true;
    }
    if (at < buf.length) this.buf = at === 0 ? buf : buf.subarray(at);
    // A head begun and not complete: it has a time to arrive in.
    const waitingHead = this.buf !== null && this.tunnelled === null && !this.paused && !this.closing;
    if (!waitingHead) this.deadlines[Deadline.Head] = 0;
    else if (this.deadlines[Deadline.Head] === 0) this.deadlines[Deadline.Head] = this.edge.now + limits.headTimeoutMs;
  }

  onClose(): void {
    this.ended = true;
    this.out.clear();
    if (this.writing !== null) endWrite(this);
    for (const a of this.answers) a.settle();
    this.tunnelled?.settle();
    this.tunnel?.drop();
    this.tunnel = null;
    const edge = this.edge;
    if (!edge.connections.delete(this)) return;
    const n = (edge.perAddress.get(this.peerIp) ?? 1) - 1;
    if (n <= 0) edge.perAddress.delete(this.peerIp);
    else edge.perAddress.set(this.peerIp, n);
    if (edge.connections.size === 0) edge.onAllClosed?.();
  }
}
