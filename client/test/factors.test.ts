/**
 * The client's factors (src/factors.ts): a typed recovery code checked before anything is sealed or sent, as a
 * person may type it; a typo is one typed error, and no request leaves the client.
 */
import { formatRecoveryCode } from '@enclave-wallet/proto/recovery-code';
import { checkRecoveryCode, createClient, EnclaveWalletApiError } from '../src/index.js';

const code = formatRecoveryCode(Uint8Array.from({ length: 16 }, (_, i) => i * 17));
const typo = code.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));

test('a typed code is written out the usual way: case, spaces, dashes, O for 0, I and L for 1', () => {
  expect(checkRecoveryCode(code.toLowerCase().replaceAll('-', ' '))).toBe(code);
  expect(checkRecoveryCode(code.replaceAll('-', '').replaceAll('0', 'O').replaceAll('1', 'l'))).toBe(code);
});

test.each([
  ['a typo', typo],
  ['a character short', code.slice(0, -1)],
  ['a U', `${code.slice(0, -1)}U`],
  ['empty', ''],
])('%s: RECOVERY_CODE_INVALID, status 0', (_, typed) => {
  expect(() => checkRecoveryCode(typed)).toThrow(EnclaveWalletApiError);
  expect(() => checkRecoveryCode(typed)).toThrow(expect.objectContaining({ code: 'RECOVERY_CODE_INVALID', status: 0 }));
});

test('resetPin with a typo sends nothing: not even the attestation request', async () => {
  const sent: string[] = [];
  const client = createClient({
    baseUrl: 'http://wallet.invalid',
    root: new Uint8Array([0x30, 0x00]),
    fetch: (input) => {
      sent.push(String(input));
      return Promise.reject(new Error('no request should be sent'));
    },
  });
  client.setSession({ accessToken: 'a', refreshToken: 'r', expiresAt: Date.now() + 600_000, user: { id: 'usr_1', email: 'a@example.com', provider: 'dev' } });
  await expect(client.resetPin('w1', typo, '270394')).rejects.toMatchObject({ code: 'RECOVERY_CODE_INVALID', status: 0 });
  expect(sent).toEqual([]);
});
