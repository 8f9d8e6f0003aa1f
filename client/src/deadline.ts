/** A deadline: its signal fires after `ms` with a `TimeoutError`; `clear()` stops its timer once the work is done. */
export interface Deadline {
  readonly signal: AbortSignal;
  clear(): void;
}

/**
 * A deadline of `ms`: a controller and a timer, cleared when the work ends (so nothing outlives it, and a Node
 * process exits when its last request does). `AbortSignal.timeout` has no way to be cleared, and Safari 15.4 runs
 * the SDK's ES2022 without it.
 */
export function deadline(ms: number): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('the deadline passed', 'TimeoutError')), ms);
  (timer as { unref?: () => void }).unref?.();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/**
 * `work`, or the signal's reason once it fires, whichever comes first: a transport or a body that ignores the
 * signal (an app's fetch wrapper that passes on only some of its arguments) cannot outlast the deadline.
 */
export function within<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
