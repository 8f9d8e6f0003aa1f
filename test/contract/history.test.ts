/**
 * Bytes written by an older schema still decode with the current one:
 * proto/history/<version>/ holds each older schema verbatim and messages it
 * encoded.
 */
import { readFileSync } from 'node:fs';
import { v1 } from '@enclave-wallet/proto';
// @ts-expect-error -- plain ESM helper without type declarations
import { loadSchema } from '../../proto/scripts/schema-tools.mjs';

const dir = new URL('../../proto/history/v0/', import.meta.url);
const fixtures = JSON.parse(readFileSync(new URL('messages.json', dir), 'utf8')) as Record<string, { object: unknown; hex: string }>;

test('the committed v0 bytes are what the v0 schema writes (the fixture is honest)', () => {
  const v0 = loadSchema(new URL('enclave_wallet.proto', dir).pathname);
  for (const [key, { object, hex }] of Object.entries(fixtures)) {
    const type = v0.lookupType(key.split('#')[0]!);
    expect(Buffer.from(type.encode(type.fromObject(object as Record<string, unknown>)).finish()).toString('hex')).toBe(hex);
  }
});

test('a v0 create-wallet request decodes with the current schema', () => {
  const req = v1.HostRequest.decode(Buffer.from(fixtures['enclavewallet.v1.HostRequest']!.hex, 'hex'));
  expect(req.requestId).toBe(41);
  expect(req.operation).toBe('createWallet');
  expect(req.createWallet).toMatchObject({ userId: 'user-7', walletId: 'wallet-9' });
  expect(Buffer.from(req.createWallet!.pinEnvelope!).toString()).toBe('envelope-bytes');
  // v0 had no protocol_version: it reads as 0, which the server answers with PROTOCOL_VERSION_UNSUPPORTED.
  expect(req.protocolVersion).toBe(0);
});

test('a v0 create-wallet answer decodes with its accounts', () => {
  const res = v1.EnclaveResponse.decode(Buffer.from(fixtures['enclavewallet.v1.EnclaveResponse']!.hex, 'hex'));
  expect(res.result).toBe('createWallet');
  expect(res.createWallet!.accounts!.map((a) => [a.network, a.path, a.address])).toEqual([
    [v1.Network.NETWORK_EVM, "m/44'/60'/0'/0/0", '0x9858EfFD232B4033E47d90003D41EC34EcaEda94'],
    [v1.Network.NETWORK_SOLANA, "m/44'/501'/0'/0'", 'HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk'],
  ]);
});

test('a v0 error decodes; its removed debug_note field is ignored', () => {
  const res = v1.EnclaveResponse.decode(Buffer.from(fixtures['enclavewallet.v1.EnclaveResponse#error']!.hex, 'hex'));
  expect(res.error).toMatchObject({ code: v1.ErrorCode.PIN_INVALID, message: 'wrong PIN', attemptsLeft: 2 });
  expect(Object.keys(v1.Error.toObject(res.error as v1.Error))).not.toContain('debugNote');
});

test('a v0 health answer decodes with a 64-bit uptime as a number', () => {
  const res = v1.EnclaveResponse.decode(Buffer.from(fixtures['enclavewallet.v1.EnclaveResponse#health']!.hex, 'hex'));
  expect(res.health).toMatchObject({ initialized: true, uptimeMs: 123456789012 });
});
