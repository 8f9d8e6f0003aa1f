/**
 * The SDK's Solana message parser against messages compiled by @solana/kit,
 * and the SDK's refusal to sign a transaction message as a "message" before
 * anything (a PIN, a request) leaves it.
 */
import { getCompiledTransactionMessageDecoder } from '@solana/kit';
import { createClient, EnclaveWalletApiError } from '../src/index.js';
import { isSolanaTransactionMessage, parseSolanaMessage } from '../src/solana-wire.js';
import {
  compileMessage,
  fiveSolToAttacker,
  LOOKUP_TABLE,
  solTransfer,
  splTransferChecked,
  v0WithLookup,
  ATTACKER,
} from '../../test/support/solana-messages.js';

const PAYER = 'HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk';
/** kit's compiled legacy/v0 message (its type is a union with v1, which these tests do not decode). */
interface KitLayout {
  version: 'legacy' | 0;
  header: { numSignerAccounts: number; numReadonlySignerAccounts: number; numReadonlyNonSignerAccounts: number };
  staticAccounts: string[];
  lifetimeToken: string;
  instructions: Array<{ programAddressIndex: number; accountIndices?: number[]; data?: Uint8Array }>;
  addressTableLookups?: Array<{ lookupTableAddress: string; writableIndexes?: number[]; readonlyIndexes?: number[] }>;
}

test('legacy and v0 messages compiled by @solana/kit parse, with the layout kit decodes', () => {
  const messages = [
    fiveSolToAttacker(PAYER),
    compileMessage(0, PAYER, [solTransfer(PAYER, ATTACKER, 1n)]),
    compileMessage('legacy', PAYER, []),
    compileMessage(0, PAYER, [splTransferChecked(PAYER, 10n ** 6n, 6), solTransfer(PAYER, ATTACKER, 2n)]),
    v0WithLookup(PAYER),
  ];
  for (const bytes of messages) {
    const ours = parseSolanaMessage(bytes)!;
    const kit = getCompiledTransactionMessageDecoder().decode(bytes) as unknown as KitLayout;
    expect(ours.version).toBe(kit.version);
    expect(ours.header).toEqual({
      requiredSignatures: kit.header.numSignerAccounts,
      readonlySigned: kit.header.numReadonlySignerAccounts,
      readonlyUnsigned: kit.header.numReadonlyNonSignerAccounts,
    });
    expect(ours.accountKeys).toEqual(kit.staticAccounts);
    expect(ours.recentBlockhash).toBe(kit.lifetimeToken);
    expect(ours.instructions.map((i) => [i.programIndex, i.accountIndexes, [...i.data]])).toEqual(
      kit.instructions.map((i) => [i.programAddressIndex, i.accountIndices ?? [], [...(i.data ?? [])]]),
    );
    expect(ours.lookups).toEqual(
      (kit.addressTableLookups ?? []).map((l) => ({ table: l.lookupTableAddress, writable: l.writableIndexes ?? [], readonly: l.readonlyIndexes ?? [] })),
    );
    expect(isSolanaTransactionMessage(bytes)).toBe(true);
    expect(isSolanaTransactionMessage(bytes.subarray(0, -1))).toBe(false);
    expect(isSolanaTransactionMessage(Uint8Array.from([...bytes, 0]))).toBe(false);
  }
  expect(parseSolanaMessage(v0WithLookup(PAYER))!.lookups[0]!.table).toBe(LOOKUP_TABLE);
  for (const text of ['Sign in to Example', 'x', '', 'été 🚀']) expect(isSolanaTransactionMessage(new TextEncoder().encode(text))).toBe(false);
  // v1, which kit compiles already, by its version prefix.
  expect(isSolanaTransactionMessage(compileMessage(1, PAYER, [solTransfer(PAYER, ATTACKER, 5n)]))).toBe(true);
});

test('the SDK refuses to sign a transfer as a message before asking for a PIN or sending anything', async () => {
  const calls: string[] = [];
  const client = createClient({
    baseUrl: 'http://wallet.invalid',
    root: new Uint8Array(1),
    fetch: async (input) => {
      calls.push(String(input));
      throw new Error('no network here');
    },
  });
  const signer = await client.solanaSigner('w', {
    address: PAYER,
    getPin: () => {
      calls.push('getPin');
      return '493817';
    },
  });
  const err = (await signer.signMessage(fiveSolToAttacker(PAYER)).catch((e: unknown) => e)) as EnclaveWalletApiError;
  expect(err).toBeInstanceOf(EnclaveWalletApiError);
  expect(err.code).toBe('MESSAGE_IS_TRANSACTION');
  await expect(signer.signMessages([{ content: v0WithLookup(PAYER) }])).rejects.toMatchObject({ code: 'MESSAGE_IS_TRANSACTION' });
  expect(calls).toEqual([]);
});
