import { describe, expect, test } from "bun:test";
import { parseSimpleHead } from "./request-head.ts";

const head = (requestLine: string, ...headers: string[]) => [requestLine, ...headers].join("\r\n");

describe("parseSimpleHead takes", () => {
  test("a GET: target, path, the values the proxy reads, the other lines as they came", () => {
    const parsed = parseSimpleHead(
      head("GET /products/deals?page=1&size=20 HTTP/1.1", "Accept: */*", "Host: gw", "Authorization: \t Bearer abc ", "X-Request-ID: r1", "x-a: 1", "X-Forwarded-For: 6.6.6.6", "traceparent: 00-ab-cd-01", "Accept-Language: en"),
    );
    expect(parsed).toEqual({
      method: "GET",
      target: "/products/deals?page=1&size=20",
      path: "/products/deals",
      authorization: "Bearer abc",
      requestId: "r1",
      traceparent: "00-ab-cd-01",
      headerLines: "Accept: */*\r\nAuthorization: \t Bearer abc \r\nx-a: 1\r\nAccept-Language: en\r\n",
      close: false,
      headers: 8,
      forwardedFor: "6.6.6.6",
      contentLength: -1,
    });
  });

  test("a HEAD, and Connection: close or keep-alive (neither passed on)", () => {
    expect(parseSimpleHead(head("HEAD /products HTTP/1.1", "host: a", "Connection: Close"))).toMatchObject({ method: "HEAD", path: "/products", close: true, headerLines: "" });
    expect(parseSimpleHead(head("GET /auth/users/me HTTP/1.1", "connection: keep-alive", "host: a"))).toMatchObject({ close: false, headerLines: "" });
  });

  test("every header the gateway sets or drops is left out, in any case", () => {
    const dropped = ["Keep-Alive: 1", "TE: trailers", "Trailer: x", "X-User-ID: admin", "x-forwarded-host: h", "X-Forwarded-Proto: http", "X-Real-IP: 1.2.3.4", "Forwarded: for=x", "Proxy-Authorization: x", "Proxy-Connection: x"];
    expect(parseSimpleHead(head("GET /products HTTP/1.1", "host: a", ...dropped, "x-kept: yes"))).toMatchObject({ headerLines: "x-kept: yes\r\n" });
  });

  test("repeated headers passed on as they came; no value for what was not sent", () => {
    expect(parseSimpleHead(head("GET /products HTTP/1.1", "host: a", "cookie: x=1", "Cookie: y=2"))).toMatchObject({
      headerLines: "cookie: x=1\r\nCookie: y=2\r\n",
      authorization: null,
      requestId: null,
      traceparent: null,
    });
  });

  test("an empty value and a query with any visible character", () => {
    expect(parseSimpleHead(head("GET /products?q=a%20b&x=[1]/../|~ HTTP/1.1", "host: a", "x-empty:"))).toMatchObject({ path: "/products", headerLines: "x-empty:\r\n" });
  });
});

describe("parseSimpleHead takes a write with one Content-Length of digits", () => {
  for (const method of ["POST", "PUT", "PATCH", "DELETE"])
    test(method, () => {
      const parsed = parseSimpleHead(head(`${method} /orders HTTP/1.1`, "host: a", "Content-Length: 0042", "content-type: application/json", "authorization: Bearer t"));
      expect(parsed).toMatchObject({ method, target: "/orders", contentLength: 42, authorization: "Bearer t", headerLines: "content-type: application/json\r\nauthorization: Bearer t\r\n", headers: 4 });
    });
  test("Content-Length: 0", () => expect(parseSimpleHead(head("POST /orders HTTP/1.1", "host: a", "content-length: 0"))).toMatchObject({ contentLength: 0 }));
});

describe("parseSimpleHead leaves to Bun's server", () => {
  const cases: [string, string][] = [
    ["another method", head("OPTIONS /products HTTP/1.1", "host: a")],
    ["a write without a Content-Length", head("POST /orders HTTP/1.1", "host: a")],
    ["a write with two Content-Lengths", head("POST /orders HTTP/1.1", "host: a", "content-length: 2", "Content-Length: 2")],
    ["a Content-Length list", head("POST /orders HTTP/1.1", "host: a", "content-length: 2, 2")],
    ["a signed Content-Length", head("POST /orders HTTP/1.1", "host: a", "content-length: +2")],
    ["an empty Content-Length", head("POST /orders HTTP/1.1", "host: a", "content-length:")],
    ["a Content-Length past 15 digits", head("POST /orders HTTP/1.1", "host: a", "content-length: 1234567890123456")],
    ["a Content-Length and a Transfer-Encoding", head("POST /orders HTTP/1.1", "host: a", "content-length: 2", "transfer-encoding: chunked")],
    ["a write with an Expect", head("POST /orders HTTP/1.1", "host: a", "content-length: 2", "expect: 100-continue")],
    ["a write by chunks", head("PUT /orders HTTP/1.1", "host: a", "transfer-encoding: chunked")],
    ["a method in lower case", head("get /products HTTP/1.1", "host: a")],
    ["HTTP/1.0", head("GET /products HTTP/1.0", "host: a")],
    ["HTTP/2 text", head("GET /products HTTP/2.0", "host: a")],
    ["an absolute-form target", head("GET http://a/products HTTP/1.1", "host: a")],
    ["a dot segment", head("GET /products/../auth/users/me HTTP/1.1", "host: a")],
    ["a trailing dot segment", head("GET /products/. HTTP/1.1", "host: a")],
    ["an empty segment", head("GET /products//deals HTTP/1.1", "host: a")],
    ["percent-encoding in the path", head("GET /products/%64eals HTTP/1.1", "host: a")],
    ["a backslash", head("GET /products\\deals HTTP/1.1", "host: a")],
    ["a fragment", head("GET /products?x#y HTTP/1.1", "host: a")],
    ["a space in the target", head("GET /products x HTTP/1.1", "host: a")],
    ["two spaces after the method", head("GET  /products HTTP/1.1", "host: a")],
    ["non-ASCII in the path", head("GET /produ\u00e7ts HTTP/1.1", "host: a")],
    ["a body by length", head("GET /products HTTP/1.1", "host: a", "content-length: 0")],
    ["a body by chunks", head("GET /products HTTP/1.1", "host: a", "Transfer-Encoding: chunked")],
    ["an upgrade", head("GET /products HTTP/1.1", "host: a", "upgrade: websocket", "connection: upgrade")],
    ["an Expect", head("GET /products HTTP/1.1", "host: a", "expect: 100-continue")],
    ["another Connection option", head("GET /products HTTP/1.1", "host: a", "connection: keep-alive, te")],
    ["no Host", head("GET /products HTTP/1.1", "accept: */*")],
    ["two Hosts", head("GET /products HTTP/1.1", "host: a", "host: b")],
    ["two Authorizations", head("GET /products HTTP/1.1", "host: a", "authorization: Bearer a", "Authorization: Bearer b")],
    ["two request ids", head("GET /products HTTP/1.1", "host: a", "x-request-id: a", "X-Request-Id: b")],
    ["only a request line", "GET /products HTTP/1.1"],
    ["a tab before the colon", head("GET /products HTTP/1.1", "host: a", "x-a\t: 1")],
    ["a space before the colon", head("GET /products HTTP/1.1", "host: a", "x-a : 1")],
    ["a folded line", head("GET /products HTTP/1.1", "host: a", "x-a: 1", " 2")],
    ["a line without a colon", head("GET /products HTTP/1.1", "host: a", "x-a")],
    ["an empty name", head("GET /products HTTP/1.1", "host: a", ": 1")],
    ["a NUL in a value", head("GET /products HTTP/1.1", "host: a", "x-a: 1\u00002")],
    ["a bare LF in a value", head("GET /products HTTP/1.1", "host: a", "x-a: 1\n2")],
    ["a bare CR in a value", head("GET /products HTTP/1.1", "host: a", "x-a: 1\r2")],
    ["non-ASCII in a value", head("GET /products HTTP/1.1", "host: a", "x-a: \u00e9")],
    ["non-ASCII in a name", head("GET /products HTTP/1.1", "host: a", "x-\u00e9: 1")],
  ];
  for (const [what, text] of cases) test(what, () => expect(parseSimpleHead(text)).toBeNull());
});
