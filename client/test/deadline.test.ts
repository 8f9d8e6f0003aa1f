/** deadlineSignal (src/deadline.ts): AbortSignal.timeout where the platform has it, a controller and a timer where it does not. */
import { deadlineSignal } from '../src/deadline.js';

const firesAfter = async (signal: AbortSignal): Promise<{ ms: number; name: unknown }> => {
  const t = performance.now();
  expect(signal.aborted).toBe(false);
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  return { ms: performance.now() - t, name: (signal.reason as { name?: unknown }).name };
};

test('with AbortSignal.timeout: it fires after the time with a TimeoutError', async () => {
  const { ms, name } = await firesAfter(deadlineSignal(60));
  expect(ms).toBeGreaterThanOrEqual(50);
  expect(name).toBe('TimeoutError');
});

test('without it (Safari 15.4): the same, from a controller and a timer', async () => {
  const timeout = AbortSignal.timeout;
  try {
    (AbortSignal as { timeout?: unknown }).timeout = undefined;
    const { ms, name } = await firesAfter(deadlineSignal(60));
    expect(ms).toBeGreaterThanOrEqual(50);
    expect(name).toBe('TimeoutError');
  } finally {
    AbortSignal.timeout = timeout;
  }
});
