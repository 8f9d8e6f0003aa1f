/**
 * What a sign request asks for, parsed and hashed: the enclave parses every
 * payload itself (SPEC §3) and computes the digest the PIN envelope must be
 * bound to; the signature is made later, with the key of the account the
 * envelope names.
 */
import { EnclaveWalletError, evmTxTypeFromProto, type DecodedRequestOf } from '@enclave-wallet/proto';
import type { Network } from '../keys/derive.js';
import { bytesOf } from '../request-fields.js';
import { personalMessageDigest, prepareEvmTransaction, signDigest, typedDataDigest } from './evm.js';
import type { SignKind } from '../envelope/pin-envelope.js';
import { checkSolanaMessage, parseSolanaTransaction, signSolanaMessage, signSolanaTransaction, solanaDigest } from './solana.js';

/** The digest to bind, and how to sign once the key is known. */
export interface PreparedSignature {
  digest: Uint8Array;
  signWith: (key: Uint8Array) => { signature: Uint8Array; signedTransaction?: Uint8Array; hash?: Uint8Array };
}

const KIND_OF_PAYLOAD: Readonly<Record<string, SignKind>> = {
  evmTransaction: 'evm-transaction',
  evmMessage: 'evm-message',
  evmTypedData: 'evm-typed-data',
  solanaTransaction: 'solana-transaction',
  solanaMessage: 'solana-message',
};

/**
 * The kind of payload a sign request carries, which its envelope must name.
 *
 * @throws {EnclaveWalletError} VALIDATION_FAILED when there is no payload
 */
export function signKindOf(req: DecodedRequestOf<'sign'>): SignKind {
  const kind = req.payload ? KIND_OF_PAYLOAD[req.payload] : undefined;
  if (!kind) throw new EnclaveWalletError('VALIDATION_FAILED', 'nothing to sign: set exactly one payload');
  return kind;
}

/** The Solana cluster a sign request says its transaction goes to ('' when none: a signature only). */
export function signClusterOf(req: Pick<DecodedRequestOf<'sign'>, 'payload' | 'solanaTransaction'>): string {
  return req.payload === 'solanaTransaction' ? (req.solanaTransaction?.cluster ?? '') : '';
}

/**
 * Parses the one payload of a sign request for `network`.
 *
 * @throws {EnclaveWalletError} VALIDATION_FAILED (no payload, or one of another network), TRANSACTION_INVALID, MESSAGE_INVALID,
 * MESSAGE_IS_TRANSACTION (a Solana message that parses as a transaction message), TYPED_DATA_INVALID
 */
export function prepareSignature(network: Network, req: DecodedRequestOf<'sign'>): PreparedSignature {
  const payload = req.payload;
  const wrongNetwork = (): EnclaveWalletError =>
    new EnclaveWalletError('VALIDATION_FAILED', `a ${payload ?? 'missing'} payload cannot be signed on ${network}`);
  switch (payload) {
    case 'evmTransaction': {
      if (network !== 'evm') throw wrongNetwork();
      const t = req.evmTransaction!;
      const type = evmTxTypeFromProto(t.type);
      const prepared = prepareEvmTransaction({
        type,
        chainId: t.chainId ?? 0,
        to: t.to ?? '',
        value: t.value ?? '',
        nonce: t.nonce ?? '',
        gas: t.gas ?? '',
        gasPrice: t.gasPrice ?? '',
        maxFeePerGas: t.maxFeePerGas ?? '',
        maxPriorityFeePerGas: t.maxPriorityFeePerGas ?? '',
        data: t.data ?? new Uint8Array(0),
        accessList: (t.accessList ?? []).map((e) => ({ address: e.address ?? '', storageKeys: e.storageKeys ?? [] })),
      });
      return { digest: prepared.digest, signWith: (key) => prepared.sign(key) };
    }
    case 'evmMessage': {
      if (network !== 'evm') throw wrongNetwork();
      const m = req.evmMessage!;
      const digest = m.content === 'raw' ? personalMessageDigest({ raw: m.raw ?? new Uint8Array(0) }) : personalMessageDigest({ text: m.text ?? '' });
      return { digest, signWith: (key) => ({ signature: signDigest(digest, key) }) };
    }
    case 'evmTypedData': {
      if (network !== 'evm') throw wrongNetwork();
      const digest = typedDataDigest(req.evmTypedData?.json ?? '');
      return { digest, signWith: (key) => ({ signature: signDigest(digest, key) }) };
    }
    case 'solanaTransaction': {
      if (network !== 'solana') throw wrongNetwork();
      const wire = bytesOf(req.solanaTransaction?.wireTransaction, 'transaction');
      const digest = solanaDigest(parseSolanaTransaction(wire).message);
      return { digest, signWith: (key) => signSolanaTransaction(wire, key) };
    }
    case 'solanaMessage': {
      if (network !== 'solana') throw wrongNetwork();
      const message = req.solanaMessage?.message ?? new Uint8Array(0);
      if (message.length === 0) throw new EnclaveWalletError('MESSAGE_INVALID', 'the message is empty');
      // Before the nonce is claimed: a transfer passed as a "message" is refused, never signed.
      checkSolanaMessage(message);
      return { digest: solanaDigest(message), signWith: (key) => ({ signature: signSolanaMessage(message, key) }) };
    }
    default:
      throw new EnclaveWalletError('VALIDATION_FAILED', 'nothing to sign: set exactly one payload');
  }
}
