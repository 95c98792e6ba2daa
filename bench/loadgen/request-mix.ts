/** The requests a scenario sends, encoded once, picked by weight for each request. */
export interface RequestSpec {
  weight: number;
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  /** A JSON body (sent with its length). */
  body?: string;
}

export interface RequestMix {
  pick(): Uint8Array;
}

function encodeRequest(spec: RequestSpec, host: string): Uint8Array {
  let head = `${spec.method} ${spec.path} HTTP/1.1\r\nHost: ${host}\r\nAccept: application/json\r\n`;
  for (const [name, value] of Object.entries(spec.headers ?? {})) head += `${name}: ${value}\r\n`;
  if (spec.body === undefined) return new TextEncoder().encode(head + "\r\n");
  const body = new TextEncoder().encode(spec.body);
  head += `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  const headBytes = new TextEncoder().encode(head);
  const request = new Uint8Array(headBytes.length + body.length);
  request.set(headBytes);
  request.set(body, headBytes.length);
  return request;
}

export function requestMix(specs: RequestSpec[], host: string): RequestMix {
  const encoded = specs.map((s) => encodeRequest(s, host));
  if (encoded.length === 1) return { pick: () => encoded[0]! };
  const total = specs.reduce((sum, s) => sum + s.weight, 0);
  const cumulative = specs.map((_, i) => specs.slice(0, i + 1).reduce((sum, s) => sum + s.weight, 0) / total);
  return {
    pick() {
      const r = Math.random();
      for (let i = 0; i < cumulative.length; i++) if (r < cumulative[i]!) return encoded[i]!;
      return encoded[encoded.length - 1]!;
    },
  };
}
