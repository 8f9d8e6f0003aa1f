import { isDeepStrictEqual } from 'node:util';
import { ZodError } from 'zod';
import * as S from '../src/api/schemas.js';

/** What parsing did: the value, or the error's class and issues. */
const outcome = (parse: () => unknown): unknown => {
  try {
    return { value: parse() };
  } catch (err) {
    return { error: (err as Error).constructor.name, issues: err instanceof ZodError ? err.issues : undefined };
  }
};

test('unionParser answers as the union does (value or error) for bodies of every shape, right and wrong', () => {
  const envelope = 'QUJD'.repeat(100);
  const bases: Array<Record<string, unknown>> = [
    { network: 'evm', kind: 'message', message: 'hi', pinEnvelope: envelope },
    { network: 'evm', kind: 'message', message: { raw: '0x00' }, pinEnvelope: envelope, address: '0x' + 'a'.repeat(40) },
    { network: 'evm', kind: 'transaction', chainId: 1, transaction: { nonce: 0, gas: '21000', to: '0x' + 'b'.repeat(40) }, pinEnvelope: envelope },
    { network: 'evm', kind: 'transaction', chainId: '1', transaction: { type: 'legacy', nonce: '0x1', gas: 1, gasPrice: '1' }, pinEnvelope: envelope },
    { network: 'evm', kind: 'typed-data', typedData: { domain: {}, types: {}, primaryType: 'A', message: {} }, pinEnvelope: envelope },
    { network: 'solana', kind: 'transaction', cluster: 'devnet', transaction: 'AAAA', pinEnvelope: envelope },
    { network: 'solana', kind: 'message', message: 'AAAA', pinEnvelope: envelope },
    { network: 'evm', chainId: 1, to: '0x' + 'b'.repeat(40) },
    { network: 'solana', cluster: 'devnet', to: '1'.repeat(32), value: 5 },
  ];
  const without = (b: Record<string, unknown>, key: string) => Object.fromEntries(Object.entries(b).filter(([k]) => k !== key));
  const changes: Array<(b: Record<string, unknown>) => Record<string, unknown>> = [
    (b) => b,
    (b) => ({ ...b, extra: 1 }),
    (b) => ({ ...b, network: 'solana' }),
    (b) => ({ ...b, network: 'evm' }),
    (b) => ({ ...b, network: 'EVM' }),
    (b) => without(b, 'network'),
    (b) => ({ ...b, kind: 'message' }),
    (b) => ({ ...b, kind: 'transaction' }),
    (b) => ({ ...b, kind: 'typed-data' }),
    (b) => ({ ...b, kind: undefined }),
    (b) => ({ ...b, kind: ['message'] }),
    (b) => ({ ...b, pinEnvelope: 'not base64!' }),
    (b) => without(b, 'pinEnvelope'),
    (b) => ({ ...b, message: 5 }),
    (b) => ({ ...b, transaction: {} }),
    (b) => ({ ...b, chainId: 0 }),
    (b) => ({ ...b, address: 'x' }),
    (b) => ({ ...b, cluster: 'BAD' }),
    () => ({}),
  ];
  let compared = 0;
  for (const schema of [S.signBody, S.sendBody, S.prepareBody]) {
    const parser = S.unionParser(schema)!;
    expect(parser).toBeDefined();
    for (const base of bases)
      for (const first of changes)
        for (const second of changes) {
          const body = second(first(structuredClone(base)));
          const expected = outcome(() => schema.parse(body));
          const got = outcome(() => parser(body));
          if (!isDeepStrictEqual(got, expected)) expect({ body, got }).toEqual({ body, got: expected });
          compared += 1;
        }
  }
  expect(compared).toBe(3 * bases.length * changes.length ** 2);
});

test('unionParser is for unions only', () => {
  expect(S.unionParser(S.loginBody)).toBeUndefined();
  expect(S.unionParser(S.pinEnvelopeBody)).toBeUndefined();
});

test('a refused body names the fields the route expects, the same on every call', () => {
  const request = { headers: { 'content-type': 'text/plain', 'content-length': '2' }, body: undefined };
  const message = () => outcome(() => S.parseBody(S.pinEnvelopeBody, request));
  expect(message()).toEqual({ error: 'EnclaveWalletError', issues: undefined });
  let text = '';
  for (let i = 0; i < 2; i++) {
    try {
      S.parseBody(S.sendBody, request);
    } catch (err) {
      expect((err as Error).message).toBe(
        text ||
          'send content-type: application/json (not text/plain); expected a JSON object with network, address?, kind, chainId?, transaction, pinEnvelope, cluster?',
      );
      text = (err as Error).message;
    }
  }
  expect(text).not.toBe('');
});
