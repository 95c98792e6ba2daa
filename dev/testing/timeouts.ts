/**
 * Bun 1.4.5 applies `setDefaultTimeout` to the file that calls it only (a call in the preload
 * covers the first file of the run, and bunfig's `[test] timeout` is not read), so every test
 * file that starts processes or a database calls this at its top: those take longer than bun's
 * 5 s on a busy 2-core machine, and a test that times out has its child processes killed.
 */
import { setDefaultTimeout } from "bun:test";

export const END_TO_END_TEST_TIMEOUT_MS = 30_000;

export function useEndToEndTimeouts(): void {
  setDefaultTimeout(END_TO_END_TEST_TIMEOUT_MS);
}
