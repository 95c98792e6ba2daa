/**
 * An upstream on a raw socket, for the pool's and the balancer's tests: it answers each
 * request of a read with what the test says, so an answer Bun.serve would never send can be
 * sent, and it records how many requests each read held (how they were batched).
 */

/**
 * For one request: its answer; `{ last }`, its answer and then the connection closed; or
 * null, the connection closed without one. Either way the requests behind it in the same
 * read get nothing.
 */
export type RawReply = string | { last: string } | null;

/** `answer` is given the request's path, its index among all requests, and its head. */
export function rawUpstream(answer: (path: string, index: number, head: string) => RawReply) {
  const reads: number[] = [];
  let index = 0;
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket, data) {
        const requests = data.toString("latin1").split("\r\n\r\n").filter(Boolean);
        reads.push(requests.length);
        let out = "";
        for (const r of requests) {
          const reply = answer(r.split(" ")[1]!, index++, r);
          if (reply === null || typeof reply === "object") {
            socket.write(reply === null ? out : out + reply.last);
            socket.end();
            return;
          }
          out += reply;
        }
        socket.write(out);
      },
    },
  });
  return { server, reads };
}
