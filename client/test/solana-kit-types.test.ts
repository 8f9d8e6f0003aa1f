/**
 * The SDK's Solana signer is a @solana/kit TransactionPartialSigner and MessagePartialSigner as typed, with no cast
 * (this file does not compile otherwise: `npx tsc -p tsconfig.test.json`), and kit's own run-time checks agree.
 * Signing itself runs against the real stack in test/e2e/sdk-package.test.ts.
 */
import {
  isMessagePartialSigner,
  isTransactionPartialSigner,
  type Address,
  type MessagePartialSigner,
  type SignatureDictionary,
  type TransactionPartialSigner,
} from '@solana/kit';
import { createClient, type SolanaAddress, type SolanaSignatureDictionary, type SolanaSigner } from '../src/index.js';

const PAYER = 'HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk';

test("the signer is assignable to kit's partial signers, and kit recognises it", async () => {
  const wallet = createClient({ baseUrl: 'http://127.0.0.1:9', root: new Uint8Array([1]) });
  // With an address given, making the signer asks the host nothing.
  const signer: SolanaSigner = await wallet.solanaSigner('w', { address: PAYER, getPin: async () => '123456' });
  const asTransactionSigner: TransactionPartialSigner = signer;
  const asMessageSigner: MessagePartialSigner = signer;
  const address: Address = signer.address;
  const back: SolanaAddress = address;
  const dictionary: SignatureDictionary = {} as SolanaSignatureDictionary;
  void dictionary;
  expect([isTransactionPartialSigner(asTransactionSigner), isMessagePartialSigner(asMessageSigner), back]).toEqual([true, true, PAYER]);
});
