/** What a load model drives: where to connect, what to send, where to record, its limits. */
import type { Recorder } from "./recorder.ts";
import type { RequestMix } from "./request-mix.ts";
import { HttpConnection } from "./http-connection.ts";

export interface LoadTarget {
  hostname: string;
  port: number;
  mix: RequestMix;
  recorder: Recorder;
  /** A request without a complete response after this long is a timeout error. */
  timeoutMs: number;
}

export const connect = (t: LoadTarget): Promise<HttpConnection> => HttpConnection.open(t.hostname, t.port);

/** Aborts requests that passed their deadline; returns the stop function. */
export function watchDeadlines(target: LoadTarget, connections: () => Iterable<HttpConnection>): () => void {
  const timer = setInterval(() => {
    const limit = performance.now() - target.timeoutMs;
    for (const c of connections()) if (c.sentAt >= 0 && c.sentAt < limit) c.abort("timeout");
  }, Math.min(250, target.timeoutMs / 4));
  return () => clearInterval(timer);
}
