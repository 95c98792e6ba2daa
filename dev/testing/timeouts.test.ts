import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Glob } from "bun";

const ROOT = resolve(import.meta.dir, "../..");
/** What a test file imports when it starts processes or a database of its own. */
const STARTS_PROCESSES = /from "[./]*(?:dev\/)?(?:testing\/(?:test-stack|service-process)|stack\/|embedded-db)[^"]*"/;

describe("test timeouts", () => {
  test("every test file that starts processes raises bun's 5 s default for itself", () => {
    const missing: string[] = [];
    for (const file of new Glob("**/*.test.ts").scanSync({ cwd: ROOT })) {
      if (file.startsWith("node_modules/")) continue;
      const text = readFileSync(resolve(ROOT, file), "utf8");
      if (STARTS_PROCESSES.test(text) && !/^useEndToEndTimeouts\(\);$/m.test(text)) missing.push(file);
    }
    expect(missing).toEqual([]);
  });
});
