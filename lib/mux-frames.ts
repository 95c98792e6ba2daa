/**
 * The multiplexed channel between the gateway and a service: HTTP/1.1 requests and answers,
 * each tagged with an id, many to a WebSocket message, on one connection per instance. Bun.serve
 * answers no HTTP/1.1 request pipelined behind one it answers asynchronously, so over plain
 * HTTP every request in flight needs a connection of its own: a sale's backlog of orders opens
 * hundreds, and each request and each answer costs a system call and a loopback packet.
 *
 * A message is a run of records, each `[id: u32][length: u32][bytes]` (big-endian): the bytes
 * are a whole HTTP/1.1 request (gateway to service) or answer (service to gateway) with a
 * Content-Length. Ids are the gateway's, from 1; answers may come in any order. A record with
 * id 0 and no bytes, from the service, is GOAWAY: it is stopping, and will answer what was
 * sent before it but wants nothing new on this connection.
 */

/** Where a service accepts the channel (a WebSocket upgrade); not under any public prefix. */
export const MUX_PATH = "/internal/mux";

export const GOAWAY_ID = 0;

const HEADER_BYTES = 8;

/** Most bytes gathered into one message; a record larger than this goes alone. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** Records gathered for one connection, cut into messages of at most MAX_MESSAGE_BYTES. */
export class RecordBatch {
  private ids: number[] = [];
  private payloads: Uint8Array[] = [];
  private bytes = 0;
  private readonly full: Uint8Array[] = [];

  get empty(): boolean {
    return this.ids.length === 0 && this.full.length === 0;
  }

  add(id: number, payload: Uint8Array): void {
    if (this.bytes > 0 && this.bytes + HEADER_BYTES + payload.length > MAX_MESSAGE_BYTES) this.cut();
    this.ids.push(id);
    this.payloads.push(payload);
    this.bytes += HEADER_BYTES + payload.length;
  }

  /** The messages gathered so far, oldest first; the batch is empty afterwards. */
  take(): Uint8Array[] {
    if (this.ids.length > 0) this.cut();
    return this.full.splice(0);
  }

  /** The records gathered so far as one message, written once into a buffer of its size. */
  private cut(): void {
    const message = Buffer.allocUnsafe(this.bytes);
    let at = 0;
    for (let i = 0; i < this.ids.length; i++) {
      const payload = this.payloads[i]!;
      message.writeUInt32BE(this.ids[i]!, at);
      message.writeUInt32BE(payload.length, at + 4);
      message.set(payload, at + HEADER_BYTES);
      at += HEADER_BYTES + payload.length;
    }
    this.full.push(message);
    this.ids = [];
    this.payloads = [];
    this.bytes = 0;
  }
}

/**
 * Calls `each` with every record of a message, its bytes a view of the message; false when the
 * message is not a whole run of records (nothing is called for a malformed one).
 */
export function forEachRecord<B extends Uint8Array>(message: B, each: (id: number, payload: B) => void): boolean {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  let at = 0;
  while (at < message.length) {
    if (message.length - at < HEADER_BYTES) return false;
    const length = view.getUint32(at + 4);
    if (message.length - at - HEADER_BYTES < length) return false;
    at += HEADER_BYTES + length;
  }
  at = 0;
  while (at < message.length) {
    const id = view.getUint32(at);
    const length = view.getUint32(at + 4);
    // A Buffer's subarray is a Buffer.
    each(id, message.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length) as B);
    at += HEADER_BYTES + length;
  }
  return true;
}
