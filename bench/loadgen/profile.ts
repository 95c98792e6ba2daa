/**
 * A load profile in stages, as k6 writes them: from `start`, each stage moves linearly to its
 * `target` over its duration. The target is virtual users for a closed model and requests
 * per second for an open one.
 */
export interface Stage {
  durationMs: number;
  target: number;
}

export interface Profile {
  start: number;
  stages: Stage[];
}

export const profileDuration = (p: Profile): number => p.stages.reduce((sum, s) => sum + s.durationMs, 0);

export function valueAt(p: Profile, atMs: number): number {
  let from = p.start;
  let t = atMs;
  for (const stage of p.stages) {
    if (t < stage.durationMs) return from + ((stage.target - from) * t) / stage.durationMs;
    t -= stage.durationMs;
    from = stage.target;
  }
  return from;
}

/** This process's part of a total split over `count` processes: integer parts that add up to it. */
export const shareOf = (total: number, index: number, count: number): number => Math.floor((total + count - 1 - index) / count);

/** The window where the profile holds its peak: the longest stage that starts and ends at it. */
export function holdWindow(p: Profile): { fromMs: number; toMs: number } {
  let from = p.start;
  let at = 0;
  let best = { fromMs: 0, toMs: profileDuration(p) };
  let bestLength = -1;
  const peak = Math.max(p.start, ...p.stages.map((s) => s.target));
  for (const stage of p.stages) {
    if (from === peak && stage.target === peak && stage.durationMs > bestLength) {
      best = { fromMs: at, toMs: at + stage.durationMs };
      bestLength = stage.durationMs;
    }
    at += stage.durationMs;
    from = stage.target;
  }
  return best;
}
