/** Waits `minMs` plus a random share of `spreadMs` (jitter, so that retries that collided do not collide again). */
// Whole milliseconds: a fraction made V8 deoptimise Node's setTimeout (a timer's delay held as a small integer until then).
export const pause = (minMs: number, spreadMs = 0): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.round(minMs + Math.random() * spreadMs)));
