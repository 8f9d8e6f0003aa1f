/**
 * An abort signal that fires after `ms` with a `TimeoutError`: `AbortSignal.timeout` where the platform has it
 * (Node 17.3+, Chrome 103+, Firefox 100+, Safari 16+), else the same made of a controller and a timer (Safari 15.4
 * runs the SDK's ES2022 but has no `AbortSignal.timeout`).
 */
export function deadlineSignal(ms: number): AbortSignal {
  if (typeof AbortSignal.timeout === 'function') return AbortSignal.timeout(ms);
  const controller = new AbortController();
  setTimeout(() => controller.abort(new DOMException('the deadline passed', 'TimeoutError')), ms);
  return controller.signal;
}
