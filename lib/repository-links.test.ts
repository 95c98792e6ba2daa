/**
 * The README, the API reference and the committed bench report stand on their own in a clone:
 * every relative link resolves to a file of the repository, none points outside it.
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const DOCUMENTS = ["README.md", "docs/API.md", "bench/results/latest.md"];

test.each(DOCUMENTS)("%s links only to files of the repository", (document) => {
  const text = readFileSync(resolve(ROOT, document), "utf8");
  const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((link) => !/^[a-z]+:/i.test(link) && !link.startsWith("#"));
  for (const link of links) {
    const target = resolve(ROOT, dirname(document), link.split("#")[0]!);
    expect({ link, inside: !relative(ROOT, target).startsWith("..") }).toEqual({ link, inside: true });
    expect({ link, exists: existsSync(target) }).toEqual({ link, exists: true });
  }
  expect(text).not.toMatch(/MISSION\.md|CONTRACT\.md|\.\.\/shared/);
});
