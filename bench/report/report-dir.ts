/**
 * Where a run's report goes. The committed report in bench/results/ is a full-scale run that
 * the README quotes; a quick run (CI, a first look) must not replace it, so a run at another
 * scale goes to a folder of its own (bench/results/quick/) unless `--out` says where.
 */
import { join, resolve } from "node:path";
import type { Scale } from "../scenarios.ts";

export const RESULTS_DIR = resolve(import.meta.dir, "../results");

export const reportDir = (scale: Scale, out?: string): string => (out !== undefined ? resolve(out) : scale === "full" ? RESULTS_DIR : join(RESULTS_DIR, scale));
