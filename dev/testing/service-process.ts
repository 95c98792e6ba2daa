/** One service process on its own, for tests that need a gateway or instance of their own. */
import type { Subprocess } from "bun";
import { freePort } from "../stack/free-port.ts";
import { serviceCommand, stopProcess, waitHealthy, type ServiceName } from "../stack/stack.ts";

export interface ServiceProcess {
  url: string;
  port: number;
  process: Subprocess<"ignore", "pipe", "pipe">;
  output(): string;
  stop(): Promise<void>;
}

export const testMode = (): "source" | "binary" => (process.env.TEST_STACK_MODE === "binary" ? "binary" : "source");

/** Spawns without waiting: for start-up failures, whose exit code and output a test reads. */
export function spawnService(service: ServiceName, env: Record<string, string>, args: string[] = []) {
  // A gateway's admin listener has a fixed default port, which a second gateway (or another
  // run on the machine) would find taken.
  const admin = service === "gateway" ? { GATEWAY_ADMIN_PORT: String(freePort()) } : {};
  return Bun.spawn([...serviceCommand(service, testMode()), ...args], {
    env: { ...process.env, LOG_LEVEL: "warn", EXIT_WITH_PARENT: "1", ...admin, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

export async function startService(service: ServiceName, env: Record<string, string>): Promise<ServiceProcess> {
  const portVar = `${service.toUpperCase()}_PORT`;
  const port = Number(env[portVar] ?? freePort());
  const child = spawnService(service, { ...env, [portVar]: String(port) });
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += new TextDecoder().decode(chunk);
  };
  void collect(child.stdout);
  void collect(child.stderr);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(url, child, 20_000);
  } catch (e) {
    child.kill("SIGKILL");
    throw new Error(`${service} did not start: ${(e as Error).message}\n${output}`);
  }
  return { url, port, process: child, output: () => output, stop: () => stopProcess(child) };
}
