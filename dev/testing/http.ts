/** Small helpers the end-to-end tests share: JSON calls, a registered user, polling. */
import { expect } from "bun:test";

export interface Call {
  status: number;
  body: any;
  headers: Headers;
}

export async function call(base: string, method: string, path: string, opts: { body?: unknown; raw?: string; token?: string; headers?: Record<string, string> } = {}): Promise<Call> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers["content-type"] ??= "application/json";
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: the test sees the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

let counter = 0;
export const uniqueEmail = (tag = "user") => `${tag}-${process.pid}-${Date.now()}-${++counter}@example.com`;

export async function registerAndLogin(base: string, tag = "user") {
  const email = uniqueEmail(tag);
  const password = "correct horse battery";
  const reg = await call(base, "POST", "/auth/register", { body: { email, password, name: "Test User" } });
  expect(reg.status).toBe(201);
  const login = await call(base, "POST", "/auth/login", { body: { email, password } });
  expect(login.status).toBe(200);
  return { id: reg.body.id as string, email, password, access: login.body.access_token as string, refresh: login.body.refresh_token as string };
}

/** Retries `check` until it stops throwing or `withinMs` passes; returns how long it took. */
export async function eventually(check: () => Promise<void> | void, withinMs = 1000, stepMs = 25): Promise<number> {
  const start = Date.now();
  for (;;) {
    try {
      await check();
      return Date.now() - start;
    } catch (e) {
      if (Date.now() - start > withinMs) throw e;
      await Bun.sleep(stepMs);
    }
  }
}

/** The contract's error shape, with the given status and code. */
export function expectError(res: Call, status: number, code: string) {
  expect({ status: res.status, error: res.body?.error }).toEqual({ status, error: code });
  expect(typeof res.body.message).toBe("string");
  expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:|node_modules|SELECT |INSERT |127\.0\.0\.1:\d{4,5}/i);
}
