/** Waits `minMs` plus a random share of `spreadMs` (jitter, so that retries that collided do not collide again). */
// Whole milliseconds (as Node's timers count them): a fraction made V8 deoptimise Node's setTimeout, whose delay it held as a small integer.
export const pause = (minMs: number, spreadMs = 0): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.floor(minMs + Math.random() * spreadMs)));
