/**
 * A service's end of the multiplexed channel, on a real server with Bun's own WebSocket client:
 * each request record gets the answer plain HTTP would give, under its id, in any order; what
 * cannot be read is refused without harm to the rest; and GOAWAY lets a stopping service
 * finish what it was sent.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { t } from "elysia";
import { createLogger } from "./log.ts";
import { createServiceMetrics } from "./metrics.ts";
import { forEachRecord, GOAWAY_ID, MUX_PATH, RecordBatch } from "./mux-frames.ts";
import { serveMux } from "./mux-server.ts";
import { listenApp } from "./serve.ts";
import { createServiceApp } from "./service-app.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";

useEndToEndTimeouts();

const log = createLogger("mux-test", "error");

function startService() {
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  const app = createServiceApp({ service: "mux-test", log, metrics: createServiceMetrics("mux-test"), bodyLimit: 1024 * 1024, slowRequestMs: 10_000, tracer: null })
    .post("/echo", ({ body, request }) => ({ got: body, user: request.headers.get("x-user-id") }), { body: t.Object({ n: t.Integer({ minimum: 1 }) }) })
    .get("/held", async () => {
      await held;
      return { held: false };
    })
    .get("/teapot", ({ set }) => {
      set.status = 418;
      set.headers["x-thing"] = "yes";
      return "short and stout";
    });
  const mux = serveMux(app, log);
  listenApp(app, { port: 0, host: "127.0.0.1", maxBodyBytes: 1024 * 1024, shutdownGraceMs: 5000 });
  return { app, mux, release, url: `http://127.0.0.1:${app.server!.port}` };
}

const service = startService();
afterAll(() => service.app.server?.stop(true));

/** A channel as the gateway opens one: send records, collect the answers by id. */
async function openChannel(url: string) {
  const ws = new WebSocket(url.replace("http:", "ws:") + MUX_PATH);
  ws.binaryType = "nodebuffer";
  const answers = new Map<number, string>();
  const waiters: (() => void)[] = [];
  let goAways = 0;
  let closed: { code: number } | null = null;
  ws.onmessage = (e) => {
    forEachRecord(e.data as Buffer, (id, payload) => {
      if (id === GOAWAY_ID) goAways++;
      else answers.set(id, payload.toString("latin1"));
    });
    for (const w of waiters.splice(0)) w();
  };
  const closing = new Promise<{ code: number }>((r) => (ws.onclose = (e) => r((closed = { code: e.code }))));
  await new Promise((r, j) => ((ws.onopen = r), (ws.onerror = j)));
  const until = async (done: () => boolean) => {
    while (!done()) await Promise.race([new Promise<void>((r) => waiters.push(r)), closing, Bun.sleep(50)]);
  };
  return {
    ws,
    answers,
    closing,
    get goAways() {
      return goAways;
    },
    get closed() {
      return closed;
    },
    send(records: [number, string][]) {
      const batch = new RecordBatch();
      for (const [id, text] of records) batch.add(id, Buffer.from(text, "latin1"));
      for (const m of batch.take()) ws.send(m);
    },
    /** The answer to `id`, once it has come. */
    async answer(id: number): Promise<string> {
      await until(() => answers.has(id) || closed !== null);
      return answers.get(id) ?? "(none: closed)";
    },
    until,
  };
}

const post = (path: string, body: string, headers = "") =>
  `POST ${path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n${headers}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const get = (path: string, method = "GET") => `${method} ${path} HTTP/1.1\r\nhost: test\r\ncontent-length: 0\r\n\r\n`;

/** Status line, the headers named, and the body of an answer. */
function parsed(answer: string) {
  const [head, body] = answer.split("\r\n\r\n") as [string, string];
  const [status, ...lines] = head.split("\r\n");
  const headers: Record<string, string | undefined> = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
  return { status: status!, headers, body };
}

describe("the service's end of the multiplexed channel", () => {
  test("each record gets the answer plain HTTP gives, with its own length", async () => {
    const channel = await openChannel(service.url);
    const cases: [string, RequestInit & { path: string }][] = [
      [post("/echo", '{"n":3}', "x-user-id: u1\r\n"), { path: "/echo", method: "POST", body: '{"n":3}', headers: { "content-type": "application/json", "x-user-id": "u1" } }],
      [post("/echo", '{"n":0}'), { path: "/echo", method: "POST", body: '{"n":0}', headers: { "content-type": "application/json" } }],
      [post("/echo", "{not json"), { path: "/echo", method: "POST", body: "{not json", headers: { "content-type": "application/json" } }],
      [get("/teapot"), { path: "/teapot" }],
      [get("/nowhere"), { path: "/nowhere" }],
    ];
    channel.send(cases.map(([text], i) => [i + 1, text]));
    for (const [i, [, init]] of cases.entries()) {
      const over = parsed(await channel.answer(i + 1));
      const plain = await fetch(service.url + init.path, init);
      expect(over.status).toBe(`HTTP/1.1 ${plain.status} ${plain.statusText}`);
      expect(over.body).toBe(await plain.text());
      expect(Number(over.headers["content-length"])).toBe(Buffer.byteLength(over.body));
      expect(over.headers["content-type"] ?? null).toEqual(plain.headers.get("content-type"));
      expect(over.headers["x-request-id"]).toBeDefined();
      expect(over.headers.date).toBeDefined();
    }
    expect(parsed(channel.answers.get(4)!).headers["x-thing"]).toBe("yes");
    channel.ws.close();
  });

  test("a HEAD's answer says the GET's length and carries no body", async () => {
    const channel = await openChannel(service.url);
    channel.send([[1, get("/teapot", "HEAD")]]);
    const answer = parsed(await channel.answer(1));
    expect(answer.body).toBe("");
    expect(answer.headers["content-length"]).toBe(String("short and stout".length));
    channel.ws.close();
  });

  test("answers go back by id as they are ready: one that waits holds up none of the others", async () => {
    const channel = await openChannel(service.url);
    channel.send([[7, get("/held")], ...Array.from({ length: 50 }, (_, i): [number, string] => [100 + i, post("/echo", `{"n":${i + 1}}`)])]);
    for (let i = 0; i < 50; i++) expect(parsed(await channel.answer(100 + i)).body).toBe(`{"got":{"n":${i + 1}},"user":null}`);
    expect(channel.answers.has(7)).toBe(false);
    service.release();
    expect(parsed(await channel.answer(7)).body).toBe('{"held":false}');
    channel.ws.close();
  });

  test("a record that is not a readable request is answered 502 alone; the others are served", async () => {
    const channel = await openChannel(service.url);
    channel.send([
      [1, "this is not http"],
      [2, post("/echo", '{"n":1}').replace("content-length: 7", "content-length: 99")],
      [3, post("/echo", '{"n":2}')],
    ]);
    expect(parsed(await channel.answer(1)).status).toBe("HTTP/1.1 502 Bad Gateway");
    expect(parsed(await channel.answer(2)).status).toBe("HTTP/1.1 502 Bad Gateway");
    expect(parsed(await channel.answer(3)).body).toBe('{"got":{"n":2},"user":null}');
    channel.ws.close();
  });

  test("a message that is not a run of records closes the connection (1002)", async () => {
    const channel = await openChannel(service.url);
    channel.ws.send(new Uint8Array([0, 0, 0, 1, 0, 0, 0, 200, 1, 2, 3]));
    expect((await channel.closing).code).toBe(1002);
  });

  test("GOAWAY: what was sent is still answered, and the stop waits for the gateway to close", async () => {
    const own = startService();
    const channel = await openChannel(own.url);
    channel.send([[1, get("/held")]]);
    await Bun.sleep(20);
    own.mux.goAway();
    let stopped = false;
    const stopping = own.app.server!.stop(false).then(() => (stopped = true));
    await channel.until(() => channel.goAways === 1);
    // Sent before this end saw GOAWAY: answered all the same.
    channel.send([[2, post("/echo", '{"n":5}')]]);
    expect(parsed(await channel.answer(2)).body).toBe('{"got":{"n":5},"user":null}');
    own.release();
    expect(parsed(await channel.answer(1)).body).toBe('{"held":false}');
    expect(stopped).toBe(false);
    channel.ws.close(1000);
    await stopping;
    expect(stopped).toBe(true);
  });

  test("GOAWAY: a gateway that never closes is closed by the service a second after its last answer", async () => {
    const own = startService();
    const channel = await openChannel(own.url);
    own.mux.goAway();
    const started = Date.now();
    const stopping = own.app.server!.stop(false);
    expect((await channel.closing).code).toBe(1001);
    await stopping;
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
