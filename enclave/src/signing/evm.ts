/**
 * EVM signing (SPEC §3): transactions (legacy with EIP-155, EIP-2930,
 * EIP-1559), EIP-191 personal messages and EIP-712 typed data. The enclave
 * builds and hashes what it signs from the parsed request; it never signs a
 * hash handed to it. Transaction serialization comes from micro-eth-signer
 * (audited, pinned), EIP-712 hashing from ./eip712.ts (written from the EIP,
 * with caps), signatures from ./secp256k1.ts.
 */
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { fromHex, toHex0x } from '@enclave-wallet/proto/bytes';
import { Transaction } from 'micro-eth-signer';
import { signSecp256k1 } from './secp256k1.js';

const txInvalid = (why: string): EnclaveWalletError => new EnclaveWalletError('TRANSACTION_INVALID', `the transaction is not signable: ${why}`);

const UINT = /^(0|[1-9][0-9]{0,77})$|^0x[0-9a-fA-F]{1,64}$/;

/** Parses a decimal or 0x-hex unsigned integer below 2^bits. */
export function parseUint(value: string | undefined, field: string, bits: number, required = true): bigint {
  if (value === undefined || value === '') {
    if (required) throw txInvalid(`${field} is required`);
    return 0n;
  }
  if (!UINT.test(value)) throw txInvalid(`${field} must be a decimal or 0x-hex unsigned integer`);
  const n = BigInt(value);
  if (n >= 1n << BigInt(bits)) throw txInvalid(`${field} is too large`);
  return n;
}

function parseAddress(value: string, field: string): string {
  if (!/^0x[0-9a-fA-F]{40}$/.test(value)) throw txInvalid(`${field} must be a 20-byte 0x address`);
  return value.toLowerCase();
}

export type EvmTxType = 'legacy' | 'eip2930' | 'eip1559';

export interface EvmTransactionRequest {
  type: EvmTxType;
  chainId: number | bigint;
  to?: string;
  value?: string;
  nonce?: string;
  gas?: string;
  gasPrice?: string;
  maxFeePerGas?: string;
  maxPriorityFeePerGas?: string;
  data?: Uint8Array;
  accessList?: Array<{ address: string; storageKeys: string[] }>;
}

/** A transaction ready to sign: its unsigned form and the digest the envelope must be bound to. */
export interface PreparedEvmTransaction {
  digest: Uint8Array;
  sign(privateKey: Uint8Array): { signature: Uint8Array; signedTransaction: Uint8Array; hash: Uint8Array };
}

export function prepareEvmTransaction(req: EvmTransactionRequest): PreparedEvmTransaction {
  const common = commonFields(req);
  const tx = unsignedTransaction(req, common);
  const digest = keccak_256(tx.toBytes({ includeSignature: false }));
  return {
    digest,
    sign(privateKey) {
      // Signed (and checked) over the digest the envelope was checked against; the transaction only carries it.
      const signature = signSecp256k1(digest, privateKey);
      const r = bytesToNumberBE(signature.subarray(0, 32));
      const s = bytesToNumberBE(signature.subarray(32, 64));
      const signed = new Transaction(tx.type, { ...tx.raw, r, s, yParity: signature[64]! - 27 }, { strict: false });
      return { signature, signedTransaction: signed.toBytes(), hash: fromHex(signed.hash, { prefix: true }) };
    },
  };
}

type CommonFields = ReturnType<typeof commonFields>;

/** The fields every transaction type has, each parsed and range-checked. */
function commonFields(req: EvmTransactionRequest) {
  // Protobuf's uint64 arrives as a JavaScript number: above 2^53 - 1 it was rounded on the way, so it is refused
  // rather than signed for a neighbouring chain.
  if (typeof req.chainId === 'number' && !Number.isSafeInteger(req.chainId)) throw txInvalid('chainId must be an integer below 2^53');
  const chainId = BigInt(req.chainId);
  if (chainId < 1n || chainId >= 1n << 64n) throw txInvalid('chainId must be a positive integer');
  return {
    chainId,
    to: req.to === undefined || req.to === '' ? '0x' : parseAddress(req.to, 'to'),
    value: parseUint(req.value, 'value', 256, false),
    nonce: parseUint(req.nonce, 'nonce', 64),
    gasLimit: parseUint(req.gas, 'gas', 64),
    data: toHex0x(req.data ?? new Uint8Array(0)),
  };
}

function parseAccessList(req: EvmTransactionRequest): Array<{ address: string; storageKeys: string[] }> {
  return (req.accessList ?? []).map((e, i) => ({
    address: parseAddress(e.address, `accessList[${i}].address`),
    storageKeys: e.storageKeys.map((k, j) => {
      if (!/^0x[0-9a-fA-F]{64}$/.test(k)) throw txInvalid(`accessList[${i}].storageKeys[${j}] must be 32 bytes of 0x-hex`);
      return k.toLowerCase();
    }),
  }));
}

/** The unsigned transaction of the request's type, with only the fee fields that type has. */
function unsignedTransaction(req: EvmTransactionRequest, common: CommonFields): ReturnType<typeof Transaction.fromBytes> {
  const accessList = parseAccessList(req);
  try {
    switch (req.type) {
      case 'legacy':
        if (accessList.length) throw txInvalid('a legacy transaction has no access list');
        if (req.maxFeePerGas || req.maxPriorityFeePerGas) throw txInvalid('a legacy transaction has gasPrice, not EIP-1559 fees');
        return Transaction.prepare({ type: 'legacy', ...common, gasPrice: parseUint(req.gasPrice, 'gasPrice', 256) }, false);
      case 'eip2930':
        if (req.maxFeePerGas || req.maxPriorityFeePerGas) throw txInvalid('an EIP-2930 transaction has gasPrice, not EIP-1559 fees');
        return Transaction.prepare({ type: 'eip2930', ...common, gasPrice: parseUint(req.gasPrice, 'gasPrice', 256), accessList }, false);
      case 'eip1559': {
        if (req.gasPrice) throw txInvalid('an EIP-1559 transaction has maxFeePerGas and maxPriorityFeePerGas, not gasPrice');
        const maxFeePerGas = parseUint(req.maxFeePerGas, 'maxFeePerGas', 256);
        const maxPriorityFeePerGas = parseUint(req.maxPriorityFeePerGas, 'maxPriorityFeePerGas', 256);
        if (maxPriorityFeePerGas > maxFeePerGas) throw txInvalid('maxPriorityFeePerGas exceeds maxFeePerGas');
        return Transaction.prepare({ type: 'eip1559', ...common, maxFeePerGas, maxPriorityFeePerGas, accessList }, false);
      }
      default:
        throw txInvalid('type must be legacy, eip2930 or eip1559');
    }
  } catch (err) {
    if (err instanceof EnclaveWalletError) throw err;
    throw txInvalid((err as Error).message);
  }
}

/** 65-byte r‖s‖v (v = 27 + recovery bit) over a 32-byte digest (libsecp256k1, checked: ./secp256k1.ts). */
export function signDigest(digest: Uint8Array, privateKey: Uint8Array): Uint8Array {
  return signSecp256k1(digest, privateKey);
}

export { selfCheck } from './secp256k1.js';

/** EIP-191 personal_sign digest of text or raw bytes. */
export function personalMessageDigest(message: { text: string } | { raw: Uint8Array }): Uint8Array {
  const bytes = 'text' in message ? new TextEncoder().encode(message.text) : message.raw;
  if (bytes.length > 1024 * 1024) throw new EnclaveWalletError('MESSAGE_INVALID', 'the message is too long');
  const prefix = new TextEncoder().encode(`\x19Ethereum Signed Message:\n${bytes.length}`);
  const all = new Uint8Array(prefix.length + bytes.length);
  all.set(prefix, 0);
  all.set(bytes, prefix.length);
  return keccak_256(all);
}

export { typedDataDigest } from './eip712.js';
