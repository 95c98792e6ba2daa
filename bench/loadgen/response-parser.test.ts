import { describe, expect, test } from "bun:test";
import { ResponseParser } from "./response-parser.ts";

const STREAM = [
  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"b c\"}",
  "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n",
  "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 999\r\n\r\n",
  "HTTP/1.1 204 No Content\r\n\r\n",
  "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
  "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
].join("");
const EXPECTED = [
  [200, false],
  [503, false],
  [304, false],
  [204, false],
  [404, false],
  [200, true],
];

const parseIn = (pieces: Buffer[]) => {
  const seen: [number, boolean][] = [];
  const parser = new ResponseParser((status, close) => seen.push([status, close]));
  for (const p of pieces) parser.push(p);
  return { seen, busy: parser.busy };
};

describe("the load generator's response parser", () => {
  test("finds every response whole, however the stream is split", () => {
    const bytes = Buffer.from(STREAM, "latin1");
    for (let cut = 1; cut < bytes.length; cut++) {
      const { seen, busy } = parseIn([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect({ cut, seen }).toEqual({ cut, seen: EXPECTED as [number, boolean][] });
      expect(busy).toBe(false);
    }
    expect(parseIn([...bytes].map((b) => Buffer.from([b]))).seen).toEqual(EXPECTED as [number, boolean][]);
  });

  test("a response cut short is still in progress, not counted", () => {
    const { seen, busy } = parseIn([Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345")]);
    expect(seen).toEqual([]);
    expect(busy).toBe(true);
  });

  test("reads the error code of a 4xx/5xx answer, however the stream is split, and nothing else", () => {
    const refusal = '{"error":"INSUFFICIENT_STOCK","message":"Only 0 left","details":{"deal_id":"x"}}';
    const stream = Buffer.from(
      [
        `HTTP/1.1 400 Bad Request\r\nContent-Length: ${refusal.length}\r\n\r\n${refusal}`,
        'HTTP/1.1 201 Created\r\nContent-Length: 19\r\n\r\n{"error":"IGNORED"}',
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\nno",
      ].join(""),
      "latin1",
    );
    const expected = [
      [400, "INSUFFICIENT_STOCK"],
      [201, undefined],
      [503, undefined],
    ];
    for (let cut = 1; cut < stream.length; cut += 7) {
      const seen: [number, string | undefined][] = [];
      const parser = new ResponseParser((status, _close, code) => seen.push([status, code]));
      parser.push(stream.subarray(0, cut));
      parser.push(stream.subarray(cut));
      expect({ cut, seen }).toEqual({ cut, seen: expected as [number, string | undefined][] });
    }
  });

  test("garbage is refused instead of being counted as a response", () => {
    expect(() => parseIn([Buffer.from("SSH-2.0-OpenSSH\r\n\r\n")])).toThrow();
    expect(() => parseIn([Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")])).toThrow();
  });
});
