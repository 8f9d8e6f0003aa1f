import { EnclaveWalletError } from '@enclave-wallet/proto';
import { clientKey, RateLimiter } from '../src/api/rate-limit.js';

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

test('the map stays bounded: expired windows go first, then the oldest', () => {
  let now = 0;
  const limiter = new RateLimiter(5, 1000, () => now, 3);
  for (const k of ['a', 'b', 'c']) limiter.hit(k);
  now = 500;
  limiter.hit('d'); // over the bound: the oldest live window (a) is dropped
  expect(limiter.size).toBe(3);
  now = 1200;
  limiter.hit('e'); // a, b, c expired
  expect(limiter.size).toBe(2);
});

test('client keys: socket address unless proxies are trusted; IPv4-mapped as IPv4; IPv6 by /64', () => {
  expect(clientKey('10.0.0.9', '1.2.3.4', 0)).toBe('10.0.0.9');
  expect(clientKey('10.0.0.9', '1.2.3.4', 1)).toBe('1.2.3.4');
  // A client that forges the header only adds entries to the left of what the proxy appends.
  expect(clientKey('10.0.0.9', '6.6.6.6, 1.2.3.4', 1)).toBe('1.2.3.4');
  expect(clientKey('10.0.0.9', '6.6.6.6, 1.2.3.4, 10.0.0.2', 2)).toBe('1.2.3.4');
  expect(clientKey('10.0.0.9', 'not-an-ip', 1)).toBe('10.0.0.9');
  expect(clientKey('::ffff:192.0.2.7', undefined, 0)).toBe('192.0.2.7');
  expect(clientKey('2001:db8:1:2:aaaa::1', undefined, 0)).toBe('2001:db8:1:2/64');
  expect(clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee', undefined, 0)).toBe('2001:db8:1:2/64');
  expect(clientKey('2001:db8::1', undefined, 0)).toBe('2001:db8:0:0/64');
  expect(clientKey('::1', undefined, 0)).toBe('0:0:0:0/64');
});
