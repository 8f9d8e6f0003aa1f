/**
 * The SDK's client (SPEC §9), split by concern: the session and transport (session.ts), the attestation check
 * that comes before any PIN leaves the device (attested.ts), the wallet calls (wallets.ts) and the signing and
 * chain calls (chains.ts), with typed results and typed errors; the public types are in types.ts.
 */
import { ChainClient } from './chains.js';
import type { ClientOptions } from './types.js';

export { personalMessageDigest } from './chains.js';
export type {
  Account,
  ApiEvmTransaction,
  Balance,
  Chain,
  ChainRef,
  ClientOptions,
  CreatedWallet,
  Hex,
  Network,
  Session,
  SignOptions,
  User,
  VerifiedAttestation,
  Wallet,
} from './types.js';

/** The client: every call of the API, by concern in the classes it extends. */
export class EnclaveWalletClient extends ChainClient {}

/** Makes a client (SPEC §9). */
export function createClient(options: ClientOptions): EnclaveWalletClient {
  return new EnclaveWalletClient(options);
}
