/** Reading a request body without ever holding more than the limit. */
import { ApiError } from "./errors.ts";

const tooLarge = (limit: number) =>
  new ApiError("PAYLOAD_TOO_LARGE", `Request body is larger than ${limit} bytes`, { limit });

/** The body's bytes, null when there is none; 413 as soon as it passes `limit`. */
export async function readBodyWithin(request: Request, limit: number): Promise<Uint8Array | null> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    const n = Number(declared);
    if (n > limit) throw tooLarge(limit);
    if (n === 0) return null;
  }
  if (request.body === null) return null;
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  if (total === 0) return null;
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}
