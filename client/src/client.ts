/**
 * The SDK's client (SPEC §9): login and sessions, the attestation check that
 * comes before any PIN leaves the device, and every wallet call of the API
 * with typed results and typed errors. Digests are computed here from what
 * the app asks to sign, never taken from the server.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, concatBytes, randomBytes } from '@noble/hashes/utils.js';
import { base58 } from '@scure/base';
import { AttestationError, trustedRoot, verifyAttestationDocument, type AttestationDocument, type TrustedRoot } from './attestation/verify.js';
import { attestedKdf } from './attestation/user-data.js';
import { newRecipientKey, openRecoveryPhrase, sealPinEnvelope, toBase64, fromBase64, type EnvelopeBody, type SignKind } from './envelope.js';
import { asFactor, factorFields, isPasskey, openRecoveryCode, signFactor, type Factor, type FactorInfo, type SignAuthorization } from './factors.js';
import { fromBase64Url } from '@enclave-wallet/proto/passkey';
import { passkeySupport, sealRegistration, sealWithPasskey, type PasskeyOptions, type PasskeySupport } from './passkey.js';
import { forgetCredential } from './webauthn.js';
import { EnclaveWalletApiError } from './errors.js';
import { checkBlockhashOnCluster, rpcNotConfigured, type RpcNodes } from './nodes.js';
import { encodeSolanaOffchainMessage } from './solana-offchain.js';
import { isSolanaTransactionMessage, parseSolanaMessage, solanaMessageOf, solTransferOf } from './solana-wire.js';
import { summarizeEvmMessage, summarizeSolanaMessage, summarizeSolanaTransaction, type ApprovalSummary } from './summary.js';

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
   * `aws` too, with the same rules), the DER bytes of another root, or `dev`
   * (in Node: the local stack's dev root at `.data/dev-ca/root.der` under the
   * working directory; in a browser pass the bytes).
   */
  root: 'aws' | 'dev' | Uint8Array;
  /** PCRs the enclave image must have (index → hex or bytes). Pin PCR0 in production. */
  expectedPcrs?: Record<number, string | Uint8Array>;
  /** A fetch implementation (default: the global one), for the API and for the nodes in `rpc`. */
  fetch?: typeof fetch;
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

const REFRESH_MARGIN_MS = 30_000;
const ATTESTATION_MAX_AGE_MS = 5 * 60_000;
const ATTESTATION_MARGIN_MS = 10_000;

const hex0x = (b: Uint8Array): Hex => `0x${bytesToHex(b)}`;
const addressKey = (walletId: string, network: Network, index: number): string => `${walletId}\n${network}\n${index}`;

/** EIP-191 personal_sign digest: keccak256("\x19Ethereum Signed Message:\n" + len + message). */
export function personalMessageDigest(message: string | { raw: Uint8Array | Hex }): Hex {
  const bytes = typeof message === 'string' ? new TextEncoder().encode(message) : typeof message.raw === 'string' ? hexToBytes(message.raw) : message.raw;
  return hex0x(keccak_256(concatBytes(new TextEncoder().encode(`\x19Ethereum Signed Message:\n${bytes.length}`), bytes)));
}

export function hexToBytes(hex: string): Uint8Array {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(hex)) throw new TypeError('expected 0x-prefixed hex bytes');
  return Uint8Array.from(hex.slice(2).match(/../g) ?? [], (h) => parseInt(h, 16));
}

async function loadDevRoot(): Promise<Uint8Array> {
  const proc = (globalThis as { process?: { versions?: { node?: string }; cwd(): string } }).process;
  if (!proc?.versions?.node)
    throw new TypeError("root 'dev' reads the local stack's dev root from disk, which only Node can do: in a browser pass the DER bytes");
  // A computed specifier, so that bundlers for the browser neither resolve nor include node:fs.
  const specifier = ['node', 'fs'].join(':');
  const fs = (await import(/* @vite-ignore */ specifier)) as { readFileSync(path: string): Uint8Array };
  return new Uint8Array(fs.readFileSync(`${proc.cwd()}/.data/dev-ca/root.der`));
}

export class EnclaveWalletClient {
  private readonly baseUrl: string;
  private readonly fetcher: typeof fetch;
  private readonly now: () => number;
  /**
   * Account addresses this client has seen, by wallet, network and index. Derivation makes them fixed for
   * good, so signing without an address costs no `GET /v1/wallets/{id}` after the first.
   */
  private readonly addresses = new Map<string, string>();
  private sessionState: Session | undefined;
  private refreshing: Promise<Session> | undefined;
  private attested: VerifiedAttestation | undefined;
  private attesting: Promise<VerifiedAttestation> | undefined;
  private root: TrustedRoot | undefined;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const f = options.fetch ?? globalThis.fetch;
    if (!f) throw new TypeError('no fetch: pass options.fetch');
    this.fetcher = f.bind(globalThis);
    this.now = options.now ?? Date.now;
    // The AWS root given as bytes is 'aws' (by fingerprint), with the same rules.
    const root = options.root instanceof Uint8Array ? trustedRoot(options.root) : options.root;
    if (root === 'aws' && options.expectedPcrs?.[0] === undefined) {
      throw new TypeError("root 'aws' needs expectedPcrs with PCR0: without it any enclave image would be accepted");
    }
    if (root !== 'dev') this.root = root;
  }

  /**
   * The app's node for a chain (`options.rpc`).
   * @throws {EnclaveWalletApiError} RPC_NOT_CONFIGURED when there is none
   * @internal
   */
  nodeUrl(chain: ChainRef): string {
    const url = chain.network === 'evm' ? this.options.rpc?.evm?.[chain.chainId] : this.options.rpc?.solana?.[chain.cluster];
    if (typeof url === 'string' && url) return url;
    throw chain.network === 'evm'
      ? rpcNotConfigured(`EVM chain ${chain.chainId}`, `rpc.evm[${chain.chainId}]`)
      : rpcNotConfigured(`Solana cluster ${chain.cluster}`, `rpc.solana['${chain.cluster}']`);
  }

  /** The fetch the SDK reads the app's nodes with. @internal */
  get nodeFetch(): typeof fetch {
    return this.fetcher;
  }

  /** The current session, if logged in. */
  get session(): Session | undefined {
    return this.sessionState;
  }

  /** Uses a session saved earlier (e.g. from storage). */
  setSession(session: Session | undefined): void {
    this.sessionState = session;
  }

  /** Exchanges an OIDC ID token for a session. */
  async login(idToken: string): Promise<Session> {
    const answer = await this.request<{ accessToken: string; refreshToken: string; expiresIn: number; user: User }>('POST', '/v1/auth/login', {
      body: { idToken },
      auth: false,
    });
    return this.keep(answer);
  }

  /** Rotates the refresh token (done by itself before the access token expires and once on a 401). */
  refresh(): Promise<Session> {
    const current = this.sessionState;
    if (!current) return Promise.reject(new EnclaveWalletApiError({ code: 'UNAUTHENTICATED', message: 'not logged in', status: 401 }));
    // One refresh at a time: the server revokes a refresh token presented twice.
    this.refreshing ??= this.request<{ accessToken: string; refreshToken: string; expiresIn: number; user: User }>('POST', '/v1/auth/refresh', {
      body: { refreshToken: current.refreshToken },
      auth: false,
    })
      .then((a) => this.keep(a))
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /**
   * Ends the session on the host (`POST /v1/auth/logout`: its refresh token at once, its access tokens on every
   * host within seconds), then forgets it. A session the host already refuses (401) counts as ended.
   */
  async logout(): Promise<void> {
    if (!this.sessionState) return;
    try {
      await this.request('POST', '/v1/auth/logout');
    } catch (err) {
      if (!(err instanceof EnclaveWalletApiError && err.status === 401)) throw err;
    } finally {
      this.sessionState = undefined;
    }
  }

  /**
   * Fetches the enclave's attestation with a fresh random nonce and verifies
   * it: the chain to the pinned root, the PCRs when pinned, the nonce, the
   * certificates' validity now. Reused until it expires.
   *
   * @throws {AttestationError} when the document does not check out (then no PIN is sealed)
   */
  attestation(): Promise<VerifiedAttestation> {
    if (this.attested && this.now() < this.attested.expiresAt) return Promise.resolve(this.attested);
    this.attesting ??= this.fetchAttestation().finally(() => {
      this.attesting = undefined;
    });
    return this.attesting;
  }

  private async fetchAttestation(): Promise<VerifiedAttestation> {
    this.root ??= await loadDevRoot();
    const nonce = randomBytes(32);
    const answer = await this.request<{ document: string; mode: string; expiresAt: string }>('GET', `/v1/enclave/attestation?nonce=${bytesToHex(nonce)}`, {
      auth: false,
    });
    const pinned = this.options.expectedPcrs?.[0] !== undefined;
    const document = verifyAttestationDocument(fromBase64(answer.document), {
      root: this.root,
      expectedNonce: nonce,
      ...(this.options.expectedPcrs ? { expectedPcrs: this.options.expectedPcrs } : {}),
      at: new Date(this.now()),
      // With the AWS root, or whenever PCR0 is pinned, the production rules; a dev root alone is for development.
      policy: this.root === 'aws' || pinned ? 'production' : 'inspect',
    });
    if (!document.publicKey || document.publicKey.length !== 32) {
      throw new AttestationError('PUBLIC_KEY_INVALID', 'the attestation document carries no 32-byte envelope key');
    }
    const pcrs: Record<string, string> = {};
    for (const [i, v] of document.pcrs) pcrs[String(i)] = bytesToHex(v);
    const claimed = Date.parse(answer.expiresAt);
    const expiresAt =
      Math.min(Number.isFinite(claimed) ? claimed : Infinity, document.timestamp + ATTESTATION_MAX_AGE_MS, this.now() + ATTESTATION_MAX_AGE_MS) -
      ATTESTATION_MARGIN_MS;
    this.attested = {
      publicKey: document.publicKey,
      mode: this.root === 'aws' ? 'nitro' : 'simulated',
      moduleId: document.moduleId,
      pcrs,
      kdf: attestedKdf(document),
      expiresAt,
      document,
    };
    return this.attested;
  }

  // --- wallets -------------------------------------------------------------

  /**
   * Makes a wallet under `pin`. The enclave also makes its recovery code, sealed to a key this call makes (and
   * zeroes); the code is returned once, as `recoveryCode` next to the wallet (see CreatedWallet).
   */
  async createWallet(pin: string): Promise<CreatedWallet> {
    const { answer: wallet, recoveryCode } = await this.withRecoveryKey(async (recoveryPublicKey, digest) => {
      const pinEnvelope = await this.seal({ purpose: 'create-wallet', digest }, { pin });
      return this.request<Wallet & { encryptedRecoveryCode?: string }>('POST', '/v1/wallets', {
        body: { pinEnvelope, recoveryPublicKey },
        consumesEnvelope: true,
      });
    });
    return withCode(this.remember(wallet), recoveryCode);
  }

  async listWallets(): Promise<Wallet[]> {
    return (await this.request<{ wallets: Wallet[] }>('GET', '/v1/wallets')).wallets.map((w) => this.remember(w));
  }

  async getWallet(walletId: string): Promise<Wallet> {
    return this.remember(await this.request<Wallet>('GET', `/v1/wallets/${encodeURIComponent(walletId)}`));
  }

  async deriveAccount(walletId: string, network: Network, index: number, pin: string | Factor): Promise<Account> {
    const pinEnvelope = await this.seal({ purpose: 'derive-account', walletId }, asFactor(pin));
    const account = await this.request<Account>('POST', `/v1/wallets/${encodeURIComponent(walletId)}/accounts`, {
      body: { network, index, pinEnvelope },
      consumesEnvelope: true,
    });
    this.addresses.set(addressKey(walletId, account.network, account.index), account.address);
    return account;
  }

  private remember(answer: Wallet & { encryptedRecoveryCode?: string }): Wallet {
    const { encryptedRecoveryCode: _, ...wallet } = answer;
    for (const a of wallet.accounts ?? []) this.addresses.set(addressKey(wallet.walletId, a.network, a.index), a.address);
    return wallet;
  }

  /** A new PIN, authorized by the current one (or `{ passkey: true }`). */
  async changePin(walletId: string, pin: string | Factor, newPin: string): Promise<void> {
    const pinEnvelope = await this.seal({ purpose: 'change-pin', walletId, newPin }, asFactor(pin));
    await this.request('POST', `/v1/wallets/${encodeURIComponent(walletId)}/pin`, { body: { pinEnvelope }, consumesEnvelope: true });
  }

  /** The recovery phrase, encrypted by the enclave to a key this call makes and keeps; returned in clear to the caller. */
  async exportRecoveryPhrase(walletId: string, pin: string | Factor): Promise<string> {
    const { secretKey, publicKey } = newRecipientKey();
    try {
      const pinEnvelope = await this.seal({ purpose: 'export', walletId, digest: hex0x(sha256(publicKey)) }, asFactor(pin));
      const out = await this.request<{ encryptedRecoveryPhrase: string }>('POST', `/v1/wallets/${encodeURIComponent(walletId)}/export`, {
        body: { pinEnvelope, recipientPublicKey: toBase64(publicKey) },
        consumesEnvelope: true,
      });
      return openRecoveryPhrase(secretKey, out.encryptedRecoveryPhrase);
    } finally {
      secretKey.fill(0);
    }
  }

  /** Makes a wallet from a recovery phrase under `pin`; like createWallet, with a new recovery code returned once. */
  async importWallet(mnemonic: string, pin: string): Promise<CreatedWallet> {
    const { answer: wallet, recoveryCode } = await this.withRecoveryKey(async (recoveryPublicKey, digest) => {
      const recoveryEnvelope = await this.seal({ purpose: 'import', digest, mnemonic }, { pin });
      return this.request<Wallet & { encryptedRecoveryCode?: string }>('POST', '/v1/wallets/import', {
        body: { recoveryEnvelope, recoveryPublicKey },
        consumesEnvelope: true,
      });
    });
    return withCode(this.remember(wallet), recoveryCode);
  }

  // --- recovery (docs/recovery.md) -------------------------------------------

  /**
   * Sets a new PIN with the recovery code (also when the wallet is locked for wrong PINs; the lock-out ends).
   * The code used stops working; the new one is returned, to show once. A code with a typo is refused here
   * (RECOVERY_CODE_INVALID, status 0) before anything is sent or counted.
   *
   * @throws {EnclaveWalletApiError} RECOVERY_CODE_INVALID, RECOVERY_CODE_WRONG (attemptsLeft), RECOVERY_LOCKED (retryAfter), PIN_TOO_WEAK…
   */
  async resetPin(walletId: string, recoveryCode: string | { recoveryCode: string }, newPin: string): Promise<string>;
  /**
   * Sets a new PIN with one of the wallet's passkeys (the PIN lock-out ends too). The recovery code is kept, and
   * `undefined` returned; with `newRecoveryCode: true` a new code replaces it and is returned, to show once.
   */
  async resetPin(walletId: string, passkey: { passkey: true; newRecoveryCode?: boolean }, newPin: string): Promise<string | undefined>;
  async resetPin(
    walletId: string,
    factor: string | { recoveryCode: string } | { passkey: true; newRecoveryCode?: boolean },
    newPin: string,
  ): Promise<string | undefined> {
    const path = `/v1/wallets/${encodeURIComponent(walletId)}/pin/reset`;
    const passkey = typeof factor === 'object' && 'passkey' in factor && factor.passkey === true;
    if (passkey && !factor.newRecoveryCode) {
      // No recovery key: the enclave keeps the code (docs/passkeys.md), and the envelope binds no digest.
      const resetEnvelope = await this.seal({ purpose: 'reset-pin', walletId, newPin }, { passkey: true });
      await this.request('POST', path, { body: { resetEnvelope }, consumesEnvelope: true });
      return undefined;
    }
    const recovery: Factor = passkey
      ? { passkey: true }
      : { recoveryCode: typeof factor === 'string' ? factor : (factor as { recoveryCode: string }).recoveryCode };
    const { recoveryCode: code } = await this.withRecoveryKey(async (recoveryPublicKey, digest) => {
      const resetEnvelope = await this.seal({ purpose: 'reset-pin', walletId, digest, newPin }, recovery);
      return this.request<{ encryptedRecoveryCode?: string }>('POST', path, {
        body: { resetEnvelope, recoveryPublicKey },
        consumesEnvelope: true,
      });
    });
    return code;
  }

  /** A new recovery code, authorized by the PIN (or a passkey); the old code stops working. Returned once, to show the user. */
  async newRecoveryCode(walletId: string, pin: string | Factor): Promise<string> {
    const { recoveryCode } = await this.withRecoveryKey(async (recoveryPublicKey, digest) => {
      const pinEnvelope = await this.seal({ purpose: 'recovery-code', walletId, digest }, asFactor(pin));
      return this.request<{ encryptedRecoveryCode?: string }>('POST', `/v1/wallets/${encodeURIComponent(walletId)}/recovery-code`, {
        body: { pinEnvelope, recoveryPublicKey },
        consumesEnvelope: true,
      });
    });
    return recoveryCode;
  }

  /** The factors that open a wallet: kinds and dates (and passkeys' credential ids), nothing secret. */
  async listFactors(walletId: string): Promise<FactorInfo[]> {
    return (await this.request<{ factors: FactorInfo[] }>('GET', `/v1/wallets/${encodeURIComponent(walletId)}/factors`)).factors;
  }

  // --- passkeys (docs/passkeys.md) -------------------------------------------

  /** Whether this browser can open a wallet with a passkey, with a sentence for the user. */
  passkeySupport(): Promise<PasskeySupport> {
    return passkeySupport(this.options.passkeys);
  }

  /**
   * Makes a passkey (user verification, PRF with the wallet's salt) and adds it to the wallet, authorized by the PIN
   * or the recovery code. Returns its credential id (base64url). An authenticator without PRF is refused before
   * anything is sent (PASSKEY_PRF_UNSUPPORTED), and a credential the wallet did not take is offered to the browser
   * to forget.
   *
   * @throws {EnclaveWalletApiError} PASSKEY_PRF_UNSUPPORTED, PASSKEY_CANCELLED, PASSKEY_EXISTS, PASSKEY_LIMIT_REACHED, PIN_INVALID…
   */
  async addPasskey(walletId: string, factor: { pin: string } | { recoveryCode: string }): Promise<{ credentialId: string }> {
    const fields = factorFields(factor);
    const session = this.sessionState;
    if (!session) throw new EnclaveWalletApiError({ code: 'UNAUTHENTICATED', message: 'log in first', status: 401 });
    const { publicKey } = await this.attestation();
    const exclude = await this.passkeyIds(walletId);
    const user = { name: session.user.email || session.user.id, displayName: `${session.user.email || session.user.id} (wallet ${walletId.slice(0, 8)})` };
    const { envelope, credentialId } = await sealRegistration(
      publicKey,
      { sub: session.user.id, walletId, ...fields },
      user,
      exclude,
      this.options.passkeys ?? {},
      this.now,
    );
    try {
      await this.request('POST', `/v1/wallets/${encodeURIComponent(walletId)}/passkeys`, { body: { pinEnvelope: envelope }, consumesEnvelope: true });
    } catch (err) {
      // Refused (a wrong PIN, a full wallet): the browser may forget the credential, unless the wallet already holds it.
      if (err instanceof EnclaveWalletApiError && err.status >= 400 && err.status < 500 && err.code !== 'PASSKEY_EXISTS') {
        forgetCredential(this.options.passkeys ?? {}, fromBase64Url(credentialId));
      }
      throw err;
    }
    return { credentialId };
  }

  /** Removes one passkey (its credential id, base64url) from the wallet, authorized by the PIN or a passkey (this one too). The PIN stays. */
  async removePasskey(walletId: string, credentialId: string, factor: string | Factor): Promise<void> {
    const id = fromBase64Url(credentialId);
    const pinEnvelope = await this.seal({ purpose: 'remove-passkey', walletId, digest: hex0x(sha256(id)) }, asFactor(factor));
    await this.request('DELETE', `/v1/wallets/${encodeURIComponent(walletId)}/passkeys/${encodeURIComponent(credentialId)}`, {
      body: { pinEnvelope },
      consumesEnvelope: true,
    });
  }

  /** The raw credential ids of the wallet's passkeys (from its factors). */
  private async passkeyIds(walletId: string): Promise<Uint8Array[]> {
    return (await this.listFactors(walletId)).flatMap((f) => (f.kind === 'passkey' && f.credentialId ? [fromBase64Url(f.credentialId)] : []));
  }

  /**
   * Makes an X25519 key pair for one call, runs it with the key (base64) and the digest its envelope binds, opens
   * the recovery code the enclave sealed to it, and zeroes the secret key, whatever happens.
   */
  private async withRecoveryKey<T extends { encryptedRecoveryCode?: string }>(
    call: (recoveryPublicKey: string, digest: Hex) => Promise<T>,
  ): Promise<{ answer: T; recoveryCode: string }> {
    const { secretKey, publicKey } = newRecipientKey();
    try {
      const answer = await call(toBase64(publicKey), hex0x(sha256(publicKey)));
      return { answer, recoveryCode: openRecoveryCode(secretKey, answer.encryptedRecoveryCode) };
    } finally {
      secretKey.fill(0);
    }
  }

  // --- signing -------------------------------------------------------------

  /** EIP-191 personal_sign; returns the 65-byte signature. */
  async signEvmMessage(walletId: string, message: string | { raw: Uint8Array | Hex }, options: SignOptions): Promise<Hex> {
    const address = await this.accountAddress(walletId, 'evm', options.address);
    const bytes = typeof message === 'string' ? new TextEncoder().encode(message) : typeof message.raw === 'string' ? hexToBytes(message.raw) : message.raw;
    const digest = personalMessageDigest({ raw: bytes });
    const apiMessage = typeof message === 'string' ? message : { raw: hex0x(bytes) };
    const out = await this.sign<{ signature: Hex }>(
      walletId,
      { network: 'evm', address, kind: 'message', message: apiMessage },
      digest,
      summarizeEvmMessage(bytes, address),
      options,
    );
    return out.signature;
  }

  /**
   * Signs an EVM request whose digest the caller computed from the same data
   * (the viem helpers in ./evm.js do it for transactions and typed data).
   * @internal
   */
  async signEvmWithDigest<T>(
    walletId: string,
    body: Record<string, unknown> & { kind: 'transaction' | 'typed-data' },
    digest: Hex,
    summarize: (signer: string) => ApprovalSummary,
    options: SignOptions,
  ): Promise<T> {
    const address = await this.accountAddress(walletId, 'evm', options.address);
    return this.sign<T>(walletId, { network: 'evm', address, ...body }, digest, summarize(address), options);
  }

  /**
   * Signs a Solana wire transaction (legacy or v0; signature slots may be zero). Returns the signature (64 bytes)
   * and the signed wire transaction. With `cluster`, the recent blockhash is first checked valid on that cluster
   * through the app's node (`rpc.solana[cluster]`), and the cluster is shown to the user and bound into the
   * envelope; without it the summary names no cluster (the transaction is the app's own, with its blockhash).
   */
  async signSolanaTransaction(
    walletId: string,
    wireTransaction: Uint8Array,
    options: SignOptions & { cluster?: string },
  ): Promise<{ signature: Uint8Array; signedTransaction: Uint8Array }> {
    const address = await this.accountAddress(walletId, 'solana', options.address);
    const message = solanaMessageOf(wireTransaction);
    const { cluster } = options;
    if (cluster !== undefined) await this.checkCluster(message, cluster);
    const out = await this.sign<{ signature: string; signedTransaction: string }>(
      walletId,
      { network: 'solana', address, kind: 'transaction', ...(cluster !== undefined ? { cluster } : {}), transaction: toBase64(wireTransaction) },
      hex0x(sha256(message)),
      summarizeSolanaTransaction(message, address, cluster),
      options,
      'sign',
      cluster,
    );
    return { signature: base58.decode(out.signature), signedTransaction: fromBase64(out.signedTransaction) };
  }

  /**
   * Signs raw bytes with a Solana key (off-chain message); returns the 64-byte signature. Bytes that parse as a
   * transaction message are refused (MESSAGE_IS_TRANSACTION) here, before any PIN is asked, and by the enclave.
   */
  async signSolanaMessage(walletId: string, message: Uint8Array, options: SignOptions): Promise<Uint8Array> {
    if (isSolanaTransactionMessage(message)) {
      throw new EnclaveWalletApiError({
        code: 'MESSAGE_IS_TRANSACTION',
        message: 'the message parses as a Solana transaction message: sign it as a transaction; nothing was signed',
        status: 0,
      });
    }
    const address = await this.accountAddress(walletId, 'solana', options.address);
    const out = await this.sign<{ signature: string }>(
      walletId,
      { network: 'solana', address, kind: 'message', message: toBase64(message) },
      hex0x(sha256(message)),
      summarizeSolanaMessage(message, address),
      options,
    );
    return base58.decode(out.signature);
  }

  /**
   * Signs `text` as a Solana off-chain message (`\xffsolana offchain` signing domain; version 1 by default, or
   * version 0 with an application domain; see solana-offchain.ts) with the account as its one signer. Returns the
   * signature and the message bytes it signs, which a verifier needs (e.g. @solana/kit's
   * verifyOffchainMessageEnvelope).
   */
  async signSolanaOffchainMessage(
    walletId: string,
    text: string,
    options: SignOptions & { version?: 0 | 1; applicationDomain?: string },
  ): Promise<{ signature: Uint8Array; signedMessage: Uint8Array }> {
    const address = await this.accountAddress(walletId, 'solana', options.address);
    const signedMessage = encodeSolanaOffchainMessage({
      text,
      signers: [address],
      ...(options.version !== undefined ? { version: options.version } : {}),
      ...(options.applicationDomain !== undefined ? { applicationDomain: options.applicationDomain } : {}),
    });
    return { signature: await this.signSolanaMessage(walletId, signedMessage, { ...options, address }), signedMessage };
  }

  /** The address of account `index` (default 0) of `network` in a wallet. */
  async accountAddress(walletId: string, network: Network, address?: string, index = 0): Promise<string> {
    if (address) return address;
    const known = this.addresses.get(addressKey(walletId, network, index));
    if (known) return known;
    const wallet = await this.getWallet(walletId);
    const account = wallet.accounts.find((a) => a.network === network && a.index === index);
    if (!account) throw new EnclaveWalletApiError({ code: 'ACCOUNT_NOT_FOUND', message: `the wallet has no ${network} account ${index}`, status: 404 });
    return account.address;
  }

  /** Seals a sign envelope bound to the account and the digest, and posts it to /sign or (`send`) to /transactions/send. */
  private async sign<T>(
    walletId: string,
    body: Record<string, unknown> & { network: 'evm' | 'solana'; address: string; kind: 'transaction' | 'message' | 'typed-data' },
    digest: Hex,
    summary: ApprovalSummary,
    options: SignOptions,
    to: 'sign' | 'send' = 'sign',
    cluster?: string,
  ): Promise<T> {
    const kind = `${body.network}-${String(body.kind)}` as SignKind;
    // The user is asked only once the enclave checks out (no PIN would be sealed otherwise).
    const factor = await signFactor(options, { walletId, kind, address: body.address, summary }, () => this.attestation());
    // A Solana transaction checked for a cluster carries it in the envelope (an EVM transaction's chain id is in its bytes).
    const pinEnvelope = await this.seal(
      {
        purpose: 'sign',
        walletId,
        network: body.network,
        address: body.address,
        kind,
        digest,
        ...(cluster !== undefined ? { cluster } : {}),
      },
      factor,
    );
    const path = `/v1/wallets/${encodeURIComponent(walletId)}/${to === 'sign' ? 'sign' : 'transactions/send'}`;
    return this.request<T>('POST', path, { body: { ...body, pinEnvelope }, consumesEnvelope: true });
  }

  // --- chains ----------------------------------------------------------------

  /** The chains the host reads and broadcasts to. */
  async listChains(): Promise<Chain[]> {
    return (await this.request<{ chains: Chain[] }>('GET', '/v1/chains')).chains;
  }

  /** Balances of the wallet's accounts on one chain: the native coin and the configured tokens, as the chain's node reports them. */
  async getBalances(walletId: string, chain: ChainRef): Promise<Balance[]> {
    const query =
      chain.network === 'evm'
        ? `network=evm&chainId=${encodeURIComponent(String(chain.chainId))}`
        : `network=solana&cluster=${encodeURIComponent(chain.cluster)}`;
    return (await this.request<{ balances: Balance[] }>('GET', `/v1/wallets/${encodeURIComponent(walletId)}/balances?${query}`)).balances;
  }

  /**
   * Asks the host to prepare (nonce, gas, fees, blockhash) a transaction.
   * The answer is the untrusted host's: use the send helpers, which check it,
   * rather than binding a PIN to it directly.
   * @internal
   */
  async prepareTransaction<T>(walletId: string, body: Record<string, unknown>): Promise<T> {
    return this.request<T>('POST', `/v1/wallets/${encodeURIComponent(walletId)}/transactions/prepare`, { body });
  }

  /**
   * Signs a request whose digest the caller computed, and has the host send
   * it to the chain's node (once; a lost answer is an error with the hash).
   * @internal
   */
  async sendWithDigest<T>(
    walletId: string,
    body: Record<string, unknown> & { network: 'evm' | 'solana'; kind: 'transaction' },
    digest: Hex,
    summarize: (signer: string) => ApprovalSummary,
    options: SignOptions,
  ): Promise<T> {
    const address = await this.accountAddress(walletId, body.network, options.address);
    return this.sign<T>(walletId, { ...body, address }, digest, summarize(address), options, 'send');
  }

  /**
   * Refuses a message whose recent blockhash the app's node for `cluster` does not hold valid
   * (BLOCKHASH_NOT_ON_CLUSTER), or when the app configured no node for it (RPC_NOT_CONFIGURED).
   */
  private async checkCluster(message: Uint8Array, cluster: string): Promise<void> {
    const url = this.nodeUrl({ network: 'solana', cluster });
    const parsed = parseSolanaMessage(message);
    if (!parsed) throw new TypeError('not a Solana transaction message');
    await checkBlockhashOnCluster(this.fetcher, url, cluster, parsed.recentBlockhash);
  }

  /**
   * Sends `lamports` SOL from the wallet's Solana account (0, or
   * `options.address`) to `to` on a configured cluster. The host prepares
   * the transfer with the cluster's latest blockhash; this client refuses it
   * unless it is exactly that transfer and its blockhash is valid on
   * `cluster` according to the app's own node (`rpc.solana[cluster]`; none:
   * RPC_NOT_CONFIGURED), computes the digest itself, and only then asks for
   * and seals the PIN, bound to the digest and the cluster.
   */
  async sendSolanaTransfer(
    walletId: string,
    transfer: { cluster: string; to: string; lamports: bigint },
    options: SignOptions,
  ): Promise<{ signature: string; signedTransaction: Uint8Array }> {
    const from = await this.accountAddress(walletId, 'solana', options.address);
    // Before anything is asked of the host: a cluster the app has no node for is refused.
    this.nodeUrl({ network: 'solana', cluster: transfer.cluster });
    const prepared = await this.prepareTransaction<{ transaction: string }>(walletId, {
      network: 'solana',
      cluster: transfer.cluster,
      address: from,
      to: transfer.to,
      value: transfer.lamports.toString(),
    });
    const wire = fromBase64(prepared.transaction);
    const message = solanaMessageOf(wire);
    const seen = solTransferOf(message);
    if (!seen || seen.from !== from || seen.to !== transfer.to || seen.lamports !== transfer.lamports) {
      throw new EnclaveWalletApiError({
        code: 'PREPARED_TRANSACTION_MISMATCH',
        message: 'the host prepared another transaction than the transfer asked for; nothing was signed',
        status: 0,
      });
    }
    // Solana messages carry no chain id: the blockhash is what ties this one to a cluster.
    await this.checkCluster(message, transfer.cluster);
    const out = await this.sign<{ hash: string; signedTransaction: string }>(
      walletId,
      { network: 'solana', cluster: transfer.cluster, address: from, kind: 'transaction', transaction: prepared.transaction },
      hex0x(sha256(message)),
      summarizeSolanaTransaction(message, from, transfer.cluster),
      options,
      'send',
      transfer.cluster,
    );
    return { signature: out.hash, signedTransaction: fromBase64(out.signedTransaction) };
  }

  // --- plumbing --------------------------------------------------------------

  /**
   * Seals an envelope for one request: what it is bound to, and the factor that authorizes it (a PIN, a recovery
   * code, or a passkey's assertion over the binding), put into the envelope by one rule for every call (factors.ts,
   * passkey.ts).
   */
  private async seal(body: Omit<EnvelopeBody, 'sub' | 'pin' | 'recoveryCode' | 'passkey'> & { walletId?: string }, factor: Factor): Promise<string> {
    const fields = isPasskey(factor) ? undefined : factorFields(factor);
    const user = this.sessionState?.user.id;
    if (!user) throw new EnclaveWalletApiError({ code: 'UNAUTHENTICATED', message: 'log in first', status: 401 });
    // The factor is sealed only to the key of a document verified just now (or still fresh).
    const { publicKey } = await this.attestation();
    if (fields) return sealPinEnvelope(publicKey, { ...body, ...fields, sub: user }, this.now);
    const walletId = body.walletId;
    if (!walletId) throw new TypeError('a passkey opens an existing wallet: this call takes the PIN');
    return sealWithPasskey(publicKey, { ...body, sub: user, walletId }, await this.passkeyIds(walletId), this.options.passkeys ?? {}, this.now);
  }

  private keep(a: { accessToken: string; refreshToken: string; expiresIn: number; user: User }): Session {
    this.sessionState = { accessToken: a.accessToken, refreshToken: a.refreshToken, expiresAt: this.now() + a.expiresIn * 1000, user: a.user };
    return this.sessionState;
  }

  /**
   * One API call. Authenticated calls refresh the session shortly before it
   * expires, and once on a 401 (the host answers 401 before anything reaches
   * the enclave, so even a request carrying an envelope is safe to send
   * again). Reads are retried once on a network failure or a 503; a request
   * that may have consumed an envelope never is.
   */
  private async request<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    o: { body?: unknown; auth?: boolean; consumesEnvelope?: boolean } = {},
  ): Promise<T> {
    const auth = o.auth ?? true;
    if (auth) {
      if (!this.sessionState) throw new EnclaveWalletApiError({ code: 'UNAUTHENTICATED', message: 'log in first', status: 401 });
      if (this.sessionState.expiresAt - this.now() < REFRESH_MARGIN_MS) await this.refresh();
    }
    const send = async (): Promise<Response> => {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (o.body !== undefined) headers['content-type'] = 'application/json';
      if (auth && this.sessionState) headers.authorization = `Bearer ${this.sessionState.accessToken}`;
      try {
        return await this.fetcher(this.baseUrl + path, { method, headers, ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}) });
      } catch (cause) {
        throw new EnclaveWalletApiError({ code: 'NETWORK_ERROR', message: 'the API could not be reached', status: 0, cause });
      }
    };
    let res: Response;
    try {
      res = await send();
      if (method === 'GET' && res.status === 503) res = await send();
    } catch (err) {
      if (method !== 'GET' || o.consumesEnvelope) throw err;
      res = await send();
    }
    if (res.status === 401 && auth && this.sessionState) {
      await this.refresh();
      res = await send();
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = (
        json as
          | { error?: { code?: string; message?: string; requestId?: string; attemptsLeft?: number; retryAfter?: number; reason?: string; hash?: string } }
          | undefined
      )?.error;
      throw new EnclaveWalletApiError({
        code: e?.code ?? `HTTP_${res.status}`,
        message: e?.message ?? `the API answered ${res.status}`,
        status: res.status,
        ...(e?.requestId ? { requestId: e.requestId } : {}),
        ...(e?.attemptsLeft !== undefined ? { attemptsLeft: e.attemptsLeft } : {}),
        ...(e?.retryAfter !== undefined ? { retryAfter: e.retryAfter } : {}),
        ...(typeof e?.reason === 'string' ? { reason: e.reason } : {}),
        ...(typeof e?.hash === 'string' ? { hash: e.hash } : {}),
      });
    }
    return json as T;
  }
}

/** The wallet with its recovery code as a property JSON.stringify and spreads leave out. */
function withCode(wallet: Wallet, recoveryCode: string): CreatedWallet {
  return Object.defineProperty(wallet, 'recoveryCode', { value: recoveryCode, enumerable: false }) as CreatedWallet;
}

/** Makes a client (SPEC §9). */
export function createClient(options: ClientOptions): EnclaveWalletClient {
  return new EnclaveWalletClient(options);
}
