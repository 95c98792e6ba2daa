/** Progress off a terminal: plain lines (no redrawing), from the start and every few seconds. */
import { expect, test } from "bun:test";
import { PLAIN_LINE_EVERY_MS, Progress } from "./progress.ts";

const second = (at: number) => ({ at, requests: 1000, errors: 0, created: 0, p50_ms: 1, p99_ms: 2, max_ms: 3 });

test("piped: a line when a scenario starts, one every few seconds, one when it ends; no control characters", () => {
  let text = "";
  const progress = new Progress(true, false, (t) => (text += t));
  progress.begin("max-gateway", 10_000);
  for (let at = 0; at < 10_000; at += 1000) progress.interval(second(at));
  progress.end("1,000 req/s at hold");
  const lines = text.split("\n").filter(Boolean);
  expect(lines[0]).toBe("max-gateway  started: 10 s");
  expect(lines.at(-1)).toBe("max-gateway  done: 1,000 req/s at hold");
  const during = lines.slice(1, -1);
  expect(during.length).toBe(Math.floor(10_000 / PLAIN_LINE_EVERY_MS));
  expect(during[0]).toBe(`max-gateway  ${PLAIN_LINE_EVERY_MS / 1000}/10 s  1,000 req/s  p99 2 ms  errors 0`);
  expect(text).not.toMatch(/[\r\x1b]/);
});

test("on a terminal: one line redrawn in place", () => {
  let text = "";
  const progress = new Progress(true, true, (t) => (text += t));
  progress.begin("spike", 3000);
  for (let at = 0; at < 3000; at += 1000) progress.interval(second(at));
  expect(text.split("\n").length).toBe(1);
  expect(text.match(/\r\x1b\[2K/g)?.length).toBe(4);
});
