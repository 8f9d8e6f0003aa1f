/** deadline and within (src/deadline.ts): a signal that fires after its time unless cleared, and work cut by it. */
import { deadline, within } from '../src/deadline.js';

const fired = (signal: AbortSignal): Promise<void> => new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

test('a deadline fires after its time with a TimeoutError', async () => {
  const t = performance.now();
  const limit = deadline(60);
  expect(limit.signal.aborted).toBe(false);
  await fired(limit.signal);
  expect(performance.now() - t).toBeGreaterThanOrEqual(50);
  expect((limit.signal.reason as { name?: unknown }).name).toBe('TimeoutError');
});

test('a deadline cleared never fires', async () => {
  const limit = deadline(30);
  limit.clear();
  await new Promise((r) => setTimeout(r, 120));
  expect(limit.signal.aborted).toBe(false);
});

test('within: the work’s value or error before the deadline; the deadline’s reason after it, though the work never ends', async () => {
  const a = deadline(1_000);
  await expect(within(Promise.resolve(7), a.signal)).resolves.toBe(7);
  await expect(within(Promise.reject(new Error('no')), a.signal)).rejects.toThrow('no');
  a.clear();
  const b = deadline(50);
  await expect(within(new Promise(() => undefined), b.signal)).rejects.toMatchObject({ name: 'TimeoutError' });
  // Already past: rejected at once, the work's own failure not left unhandled.
  await expect(within(Promise.reject(new Error('late')), b.signal)).rejects.toMatchObject({ name: 'TimeoutError' });
});
