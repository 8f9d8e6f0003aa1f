/**
 * The attestation check that comes before any PIN leaves the device (SPEC §9): the enclave's document, fetched
 * with a fresh nonce and verified against the pinned root (and PCRs), and the sealing of a factor to the key it
 * carries.
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { AttestationError, trustedRoot, verifyAttestationDocument, type TrustedRoot } from './attestation/verify.js';
import { attestedKdf } from './attestation/user-data.js';
import { sealPinEnvelopeAsync, fromBase64, type EnvelopeBody } from './envelope.js';
import { factorFields, isPasskey, type Factor, type FactorInfo } from './factors.js';
import { toHex } from './proto-copy/bytes.js';
import { fromBase64Url } from './proto-copy/passkey.js';
import { sealWithPasskey } from './passkey.js';
import { EnclaveWalletApiError } from './errors.js';
import { SessionClient } from './session.js';
import type { ClientOptions, VerifiedAttestation } from './types.js';

const ATTESTATION_MAX_AGE_MS = 5 * 60_000;
const ATTESTATION_MARGIN_MS = 10_000;

async function loadDevRoot(): Promise<Uint8Array> {
  const proc = (globalThis as { process?: { versions?: { node?: string }; cwd(): string } }).process;
  if (!proc?.versions?.node)
    throw new TypeError("root 'dev' reads the local stack's dev root from disk, which only Node can do: in a browser pass the DER bytes");
  // A computed specifier, so that bundlers for the browser neither resolve nor include node:fs.
  const specifier = ['node', 'fs'].join(':');
  const fs = (await import(/* @vite-ignore */ specifier)) as { readFileSync(path: string): Uint8Array };
  const path = `${proc.cwd()}/.data/dev-ca/root.der`;
  try {
    return new Uint8Array(fs.readFileSync(path));
  } catch (cause) {
    throw new TypeError(
      `root 'dev' reads the local stack's dev root from ${path}, which cannot be read: run from the repository where npm start ran, or pin the root by the sha256 its banner prints (root: { sha256 })`,
      { cause },
    );
  }
}

/** Longest wallet id a call takes (the host's and the enclave's limit, proto/src/ids.ts). */
const MAX_WALLET_ID_LENGTH = 256;

const describeNotId = (value: unknown): string =>
  typeof value === 'string' ? (value === '' ? 'an empty string' : `a string of ${value.length} characters`) : value === null ? 'null' : typeof value;

/**
 * The API path of a wallet (`/v1/wallets/<id>` then `rest`), once `walletId` is one: a non-empty string of at most 256
 * characters. Anything else (undefined from a wallet's misspelt field, an object) fails here, before a PIN is asked for
 * or anything is sent, instead of reaching the host as `/v1/wallets/undefined`.
 * @throws {EnclaveWalletApiError} VALIDATION_FAILED (status 0: nothing was sent)
 */
export function walletPath(walletId: unknown, rest = ''): string {
  if (typeof walletId !== 'string' || walletId === '' || walletId.length > MAX_WALLET_ID_LENGTH)
    throw new EnclaveWalletApiError({
      code: 'VALIDATION_FAILED',
      message: `walletId must be a wallet's id (the walletId of createWallet or listWallets), not ${describeNotId(walletId)}; nothing was sent`,
      status: 0,
    });
  return `/v1/wallets/${encodeURIComponent(walletId)}${rest}`;
}

export class AttestedClient extends SessionClient {
  private attested: VerifiedAttestation | undefined;
  private attesting: Promise<VerifiedAttestation> | undefined;
  private root: TrustedRoot | undefined;

  constructor(options: ClientOptions) {
    super(options);
    // The AWS root given as bytes or by its fingerprint is 'aws', with the same rules.
    const root = options.root === 'dev' ? options.root : trustedRoot(options.root);
    if (root === 'aws' && options.expectedPcrs?.[0] === undefined) {
      throw new TypeError("root 'aws' needs expectedPcrs with PCR0: without it any enclave image would be accepted");
    }
    if (root !== 'dev') this.root = root;
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
    const answer = await this.request<{ document: string; mode: string; expiresAt: string }>('GET', `/v1/enclave/attestation?nonce=${toHex(nonce)}`, {
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
    for (const [i, v] of document.pcrs) pcrs[String(i)] = toHex(v);
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

  /**
   * Seals an envelope for one request: what it is bound to, and the factor that authorizes it (a PIN, a recovery
   * code, or a passkey's assertion over the binding), put into the envelope by one rule for every call (factors.ts,
   * passkey.ts).
   */
  protected async seal(body: Omit<EnvelopeBody, 'sub' | 'pin' | 'recoveryCode' | 'passkey'> & { walletId?: string }, factor: Factor): Promise<string> {
    if ('walletId' in body) walletPath(body.walletId);
    const fields = isPasskey(factor) ? undefined : factorFields(factor);
    const user = this.session?.user.id;
    if (!user) throw new EnclaveWalletApiError({ code: 'UNAUTHENTICATED', message: 'log in first', status: 401 });
    // The factor is sealed only to the key of a document verified just now (or still fresh).
    const { publicKey } = await this.attestation();
    if (fields) return sealPinEnvelopeAsync(publicKey, { ...body, ...fields, sub: user }, this.now);
    const walletId = body.walletId;
    if (!walletId) throw new TypeError('a passkey opens an existing wallet: this call takes the PIN');
    return sealWithPasskey(publicKey, { ...body, sub: user, walletId }, await this.passkeyIds(walletId), this.options.passkeys ?? {}, this.now);
  }

  /** The raw credential ids of the wallet's passkeys (from its factors). */
  protected async passkeyIds(walletId: string): Promise<Uint8Array[]> {
    const { factors } = await this.request<{ factors: FactorInfo[] }>('GET', walletPath(walletId, '/factors'));
    return factors.flatMap((f) => (f.kind === 'passkey' && f.credentialId ? [fromBase64Url(f.credentialId)] : []));
  }
}
