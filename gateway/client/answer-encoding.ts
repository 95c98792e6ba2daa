/** Answers as the edge writes them: HTTP/1.1 bytes. */
import { STATUS_CODES } from "node:http";
import type { UpstreamAnswer } from "../upstream/answer.ts";

let date = new Date().toUTCString();
let dateSecond = Math.floor(Date.now() / 1000);
/** The Date header's value, made at most once a second. */
const httpDate = (): string => {
  const now = Math.floor(Date.now() / 1000);
  if (now !== dateSecond) {
    dateSecond = now;
    date = new Date(now * 1000).toUTCString();
  }
  return date;
};

const statusLine = (status: number) => `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n`;
const bodyless = (status: number) => status === 204 || status === 304 || status < 200;

function assemble(status: number, head: string, body: Uint8Array, headOnly: boolean): Uint8Array {
  const length = body.length;
  if (!bodyless(status) && !headOnly) head += `content-length: ${length}\r\n`;
  const bytes = Buffer.from(`${statusLine(status)}${head}date: ${httpDate()}\r\n\r\n`, "latin1");
  return headOnly || length === 0 || bodyless(status) ? bytes : Buffer.concat([bytes, body]);
}

/**
 * An upstream's answer: byte for byte when the pool says it can be (the usual case for our
 * services, which set x-request-id), else its status, end-to-end headers and body.
 */
export function upstreamAnswerBytes(answer: UpstreamAnswer, requestId: string, headOnly: boolean): Uint8Array {
  if (answer.raw !== null && answer.hasRequestId) return answer.raw;
  let head = "";
  for (const [name, value] of answer.headers) head += `${name}: ${value}\r\n`;
  if (!answer.hasRequestId) head += `x-request-id: ${requestId}\r\n`;
  return assemble(answer.status, head, answer.body, headOnly);
}

/** An answer of the gateway's own (an error), from the Response it was made as. */
export async function responseBytes(response: Response, headOnly: boolean): Promise<Uint8Array> {
  let head = "";
  for (const [name, value] of response.headers) head += `${name}: ${value}\r\n`;
  return assemble(response.status, head, await response.bytes(), headOnly);
}

/**
 * An error of the edge's own in the contract's shape, made without a Response (for refusals
 * that must cost little: a shed request, an oversized head). `extra`: more header lines.
 */
export function errorAnswerBytes(status: number, code: string, message: string, requestId: string, extra = "", close = false): Uint8Array {
  const body = Buffer.from(JSON.stringify({ error: code, message }));
  const head = `content-type: application/json\r\nx-request-id: ${requestId}\r\n${extra}${close ? "connection: close\r\n" : ""}`;
  return assemble(status, head, body, false);
}
