import { expect, test } from "bun:test";
import { freePort } from "./free-port.ts";

test("freePort never hands out one port twice in a process, though the kernel gives released ports again", () => {
  // A stack takes five or six ports in a row (its database, the services, the gateway's admin):
  // the same number twice made one of them fail to listen.
  const ports = Array.from({ length: 500 }, () => freePort());
  expect(new Set(ports).size).toBe(ports.length);
});
