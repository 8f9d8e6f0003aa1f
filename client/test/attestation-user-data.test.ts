/** The KDF parameters an enclave binds into its documents' user_data, as the SDK reads them. */
import { AttestationError, attestedKdf } from '../src/index.js';

const doc = (text: string | undefined) => ({ userData: text === undefined ? undefined : new TextEncoder().encode(text) });
const kdf = { algorithm: 'argon2id', memoryKiB: 19456, iterations: 2, parallelism: 1 };

test('reads version 1 of the enclave’s user_data', () => {
  expect(attestedKdf(doc(JSON.stringify({ v: 1, kdf })))).toEqual(kdf);
});

test('a document without them, or with anything else, is MALFORMED: nothing is taken from elsewhere', () => {
  for (const text of [
    undefined,
    '',
    'not json',
    JSON.stringify({ v: 2, kdf }),
    JSON.stringify({ v: 1 }),
    JSON.stringify({ v: 1, kdf: { ...kdf, memoryKiB: 0 } }),
    JSON.stringify({ v: 1, kdf: { ...kdf, iterations: '2' } }),
    JSON.stringify({ v: 1, kdf: { ...kdf, algorithm: '' } }),
    'null',
  ]) {
    expect(() => attestedKdf(doc(text))).toThrow(AttestationError);
    try {
      attestedKdf(doc(text));
    } catch (err) {
      expect((err as AttestationError).code).toBe('MALFORMED');
    }
  }
  expect(() => attestedKdf({ userData: Uint8Array.of(0xff, 0xfe) })).toThrow(/not the enclave’s JSON/);
});
