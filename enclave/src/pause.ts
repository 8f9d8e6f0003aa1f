/** Waits `minMs` plus a random share of `spreadMs` (jitter, so that retries that collided do not collide again). */
export const pause = (minMs: number, spreadMs = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, minMs + Math.random() * spreadMs));
