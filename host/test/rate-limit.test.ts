import { EnclaveWalletError } from '@enclave-wallet/proto';
import { RateLimiter } from '../src/api/rate-limit.js';

test('a key over its limit gets RATE_LIMITED with the seconds left in the window; the next window starts fresh', () => {
  let now = 0;
  const limiter = new RateLimiter(2, 60_000, () => now);
  limiter.hit('a');
  limiter.hit('a');
  limiter.hit('b');
  now = 15_000;
  let err: unknown;
  try {
    limiter.hit('a');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(EnclaveWalletError);
  expect((err as EnclaveWalletError).code).toBe('RATE_LIMITED');
  expect((err as EnclaveWalletError).details.retryAfter).toBe(45);
  now = 60_000;
  expect(() => limiter.hit('a')).not.toThrow();
});
