/**
 * The SDK client's public types: accounts and wallets, sessions, the verified attestation, options, chains,
 * balances and what a signature is authorized with.
 */
import type { AttestationDocument, TrustedRoot } from './attestation/verify.js';
import type { RpcNodes } from './nodes.js';
import type { SignAuthorization } from './factors.js';
import type { PasskeyOptions } from './passkey.js';

export type Network = 'evm' | 'solana' | 'bitcoin';
export type Hex = `0x${string}`;

export interface Account {
  network: Network;
  index: number;
  path: string;
  address: string;
}

export interface Wallet {
  walletId: string;
  accounts: Account[];
  createdAt: string;
}

/**
 * A wallet just made (createWallet, importWallet), with its recovery code: 28 characters in 7 groups of 4, to show
 * the user once. `recoveryCode` is not enumerable, so that the wallet saved or logged as JSON does not carry it.
 */
export type CreatedWallet = Wallet & { readonly recoveryCode: string };

export interface User {
  id: string;
  email: string;
  provider: string;
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** Unix ms when the access token expires. */
  expiresAt: number;
  user: User;
  /**
   * Set while a refresh of this session is unanswered (its answer lost, or not yet in): its attempt id, with which
   * the next refresh tries it again (docs/api.md#sessions). Keep it with the rest of the session: restored with
   * `setSession` after a restart, it lets that refresh be tried again instead of ending the session.
   */
  refreshAttempt?: string;
}

/** A verified attestation: what the SDK seals PINs to. */
export interface VerifiedAttestation {
  /** The envelope key, from the verified document (never from the JSON field alone). */
  publicKey: Uint8Array;
  /** `nitro` for a document chaining to the AWS root, `simulated` otherwise. */
  mode: 'nitro' | 'simulated';
  moduleId: string;
  /** PCR index → lowercase hex, from the verified document. */
  pcrs: Record<string, string>;
  /** The PIN-stretching cost the enclave enforces, from the verified document's `user_data` (never from the host's JSON). */
  kdf: { algorithm: string; memoryKiB: number; iterations: number; parallelism: number };
  /** Unix ms after which the SDK fetches a new document. */
  expiresAt: number;
  document: AttestationDocument;
}

export interface ClientOptions {
  /** The host API, e.g. https://wallet.example.com (no trailing /v1). */
  baseUrl: string;
  /**
   * The attestation root: `aws` (the AWS Nitro root G1, by fingerprint; then
   * `expectedPcrs` with PCR0 is required; the same root given as DER bytes is
   * `aws` too, with the same rules), the DER bytes of another root, `{ sha256 }`
   * (a root by the SHA-256 of its certificate: the local stack's dev root as
   * `npm start` prints it, from any project), or `dev` (in Node: the local
   * stack's dev root at `.data/dev-ca/root.der` under the working directory).
   * Always the app's own constant: the SDK never fetches a root from the host.
   */
  root: 'dev' | TrustedRoot;
  /** PCRs the enclave image must have (index → hex or bytes). Pin PCR0 in production. */
  expectedPcrs?: Record<number, string | Uint8Array>;
  /**
   * A fetch implementation, for the API and for the nodes in `rpc`. Without it the nodes are read with the global
   * fetch, and so is the API, except on Node, where the API's requests go through `node:http`/`node:https` with
   * kept-alive connections (about 0.7 ms less of the client's CPU a request than Node's fetch).
   */
  fetch?: typeof fetch;
  /**
   * How long one API call may take, in milliseconds, from its first request to the end of its last answer (a
   * refresh of the session and a retry of a read included; default 180 000, above the host's own worst case).
   * Past it the call fails with `TIMEOUT` (status 0), and a read is not sent again; for a call that may have
   * changed something (a signature, a send, a PIN change, a refresh) whether it was carried out is not known.
   * The chain nodes in `rpc` have 10 s a call (viem's default for an EVM node; the same for Solana's).
   */
  requestTimeoutMs?: number;
  /**
   * Called with the session each time the SDK gets a new one (login, and every refresh, including those it makes by
   * itself before the access token expires or on a 401), and with `undefined` after `logout()`. An app that keeps
   * the session across restarts (`setSession` on the next start) saves it here: a refresh rotates the refresh token,
   * and a copy saved before it is spent (presented again, it ends the session). Also called when a refresh starts
   * (the session with its `refreshAttempt`). Calls come one after the other, each after the promise the one before
   * returned (if it returned one: an async save) settles. Not called for `setSession`. An error it throws or rejects with is not the SDK's:
   * it is reported to the console, and the call goes on.
   */
  onSession?: (session: Session | undefined) => void;
  /**
   * The app's own chain nodes, which the SDK reads itself before it approves a transaction the host prepared
   * (the host is not trusted): `{ evm: { 1: 'https://…' }, solana: { 'mainnet-beta': 'https://…' } }`. EVM:
   * the nonce, the gas a call needs and the fee history the default fee cap is derived from; Solana: that the
   * recent blockhash is valid on the cluster asked for. A send on a chain without a node here is refused
   * (`RPC_NOT_CONFIGURED`) before any PIN is asked. Choose nodes the host's operator does not run.
   */
  rpc?: RpcNodes;
  /** Clock, for tests. */
  now?: () => number;
  /** Passkeys (docs/passkeys.md): the RP id (default the page's host name), the name shown, the WebAuthn calls. */
  passkeys?: PasskeyOptions;
}

/** A chain the host reaches (GET /v1/chains). */
export interface Chain {
  network: 'evm' | 'solana';
  chainId?: number;
  cluster?: string;
  name: string;
  nativeSymbol: string;
  tokens: Array<{ address: string; symbol: string; decimals: number }>;
}

/** An EVM chain by id, or a Solana cluster by name. */
export type ChainRef = { network: 'evm'; chainId: number } | { network: 'solana'; cluster: string };

/** One asset of one account, in its smallest unit (a decimal string; null with `error` when a token did not answer). */
export interface Balance {
  address: string;
  asset: 'native' | string;
  symbol: string;
  decimals: number;
  amount: string | null;
  error?: string;
}

/**
 * What authorizes a signature, and which account signs. Give `pin` when the app
 * asked for it already, or `getPin` to have it asked once the SDK has decoded
 * what will be signed: `getPin` receives the summary (./summary.ts) to show
 * above the PIN entry. `passkey: true` signs with one of the wallet's passkeys;
 * `authorize` receives the same summary and answers `{ pin }` or `{ passkey: true }`.
 */
export type SignOptions = {
  /** The signing account's address; default: account 0 of the network. */
  address?: string;
} & SignAuthorization;

/** An unsigned EVM transaction, as the API takes it (integers as decimal strings or numbers). */
export interface ApiEvmTransaction {
  type: 'legacy' | 'eip2930' | 'eip1559';
  to?: string;
  value?: string;
  nonce: string;
  gas: string;
  gasPrice?: string;
  maxFeePerGas?: string;
  maxPriorityFeePerGas?: string;
  data?: Hex;
  accessList?: Array<{ address: string; storageKeys: string[] }>;
}
