/**
 * The browser's WebAuthn ceremonies for passkeys (docs/passkeys.md), and what this browser supports, in words.
 * Every ceremony requires user verification and asks for the `prf` extension with the wallet's salt: the PRF output
 * is the secret that opens the wallet's passkey slot in the enclave, so a passkey without it is refused here, with
 * a clear error, before anything is sent. Nothing here talks to the API; passkey.ts builds the envelope from it.
 */
import { toBase64Url } from './proto-copy/passkey.js';
import { EnclaveWalletApiError } from './errors.js';

/**
 * What the ceremonies call: `navigator.credentials` in a browser; any object with the same two methods otherwise.
 * (Typed here without the DOM library, so the SDK also compiles for Node.)
 */
export interface PasskeyCredentials {
  create(options: { publicKey: object }): Promise<unknown>;
  get(options: { publicKey: object }): Promise<unknown>;
}

type Bytes = ArrayBuffer | ArrayBufferView;
/** The parts of a PublicKeyCredential the ceremonies read. */
interface Credential {
  rawId: ArrayBuffer;
  response: {
    // Attestation (create)
    getPublicKey?(): ArrayBuffer | null;
    getPublicKeyAlgorithm?(): number;
    // Assertion (get)
    authenticatorData?: ArrayBuffer;
    clientDataJSON: ArrayBuffer;
    signature?: ArrayBuffer;
    userHandle?: ArrayBuffer | null;
  };
  getClientExtensionResults(): { prf?: { enabled?: boolean; results?: { first?: Bytes } } };
}

/** Where and how passkeys are made (ClientOptions.passkeys). */
export interface PasskeyOptions {
  /** The WebAuthn RP id: default the page's host name (WebAuthn refuses an IP address: use localhost or a domain). */
  rpId?: string;
  /** The name authenticators show next to the passkey (default "Enclave Wallet"). */
  rpName?: string;
  /** Default `navigator.credentials`. */
  credentials?: PasskeyCredentials;
  /** How long the browser waits for the user, in ms (default 100 000: an envelope lives 120 s from before the prompt). */
  timeoutMs?: number;
}

/** Whether passkeys can open a wallet in this browser, and why not, in words to show the user. */
export interface PasskeySupport {
  /** WebAuthn is there and the page is a secure context (https://, or http://localhost). */
  webauthn: boolean;
  /**
   * The browser supports the `prf` extension: true or false when it says so (`getClientCapabilities`), undefined
   * when it does not say (then the passkey's first use tells). An authenticator may still lack it: that is known
   * only when a passkey is made (PASSKEY_PRF_UNSUPPORTED).
   */
  prf: boolean | undefined;
  /** One sentence for the user. */
  message: string;
}

/** A credential just made. */
export interface NewCredential {
  credentialId: Uint8Array;
  /** COSE algorithm: -7 (ES256), -8 (EdDSA) or -257 (RS256). */
  algorithm: number;
  /** SubjectPublicKeyInfo DER. */
  publicKey: Uint8Array;
}

/** An assertion with its PRF output (a secret: zero it once sealed). */
export interface PasskeyAssertion {
  credentialId: Uint8Array;
  authenticatorData: Uint8Array;
  clientDataJSON: Uint8Array;
  signature: Uint8Array;
  userHandle: Uint8Array | undefined;
  prf: Uint8Array;
}

/**
 * ES256 first (nearly every authenticator has it), then Ed25519, then RS256 (authenticators that make only RSA
 * keys, such as some Windows Hello ones; what WebAuthn's own examples offer beside ES256).
 */
const ALGORITHMS = [-7, -8, -257];
/** Below the 120 s an envelope lives (its expiry is chosen before the prompt): an approval in time still reaches the enclave in time. */
const DEFAULT_TIMEOUT_MS = 100_000;

const NO_PRF = 'this passkey gave no PRF output (its authenticator or this browser lacks the WebAuthn prf extension), and a wallet opens only with it';

const failure = (code: string, message: string, cause?: unknown): EnclaveWalletApiError =>
  new EnclaveWalletApiError({ code, message, status: 0, ...(cause !== undefined ? { cause } : {}) });

function credentialsOf(options: PasskeyOptions): PasskeyCredentials {
  if (options.credentials) return options.credentials;
  const nav = (globalThis as { navigator?: { credentials?: PasskeyCredentials } }).navigator;
  const secure = (globalThis as { isSecureContext?: boolean }).isSecureContext !== false;
  if (!nav?.credentials || typeof (globalThis as { PublicKeyCredential?: unknown }).PublicKeyCredential === 'undefined') {
    throw failure('PASSKEY_UNSUPPORTED', 'this browser has no WebAuthn (passkeys); use the PIN. Nothing was sent');
  }
  if (!secure) throw failure('PASSKEY_UNSUPPORTED', 'passkeys need a secure page (https://, or http://localhost); use the PIN. Nothing was sent');
  return nav.credentials;
}

/**
 * What a ceremony's DOMException means, as an error with a stable code (status 0: nothing was sent).
 * NotAllowedError is deliberately vague in browsers (closed, timed out, user verification failed, or a passkey
 * this wallet already has on that authenticator): it is PASSKEY_CANCELLED.
 */
function ceremonyError(err: unknown, what: 'made' | 'used'): EnclaveWalletApiError {
  if (err instanceof EnclaveWalletApiError) return err;
  const name = (err as { name?: unknown } | undefined)?.name;
  switch (name) {
    case 'NotAllowedError':
    case 'AbortError':
      return failure(
        'PASSKEY_CANCELLED',
        `no passkey was ${what}: the prompt was closed or timed out, or the authenticator did not verify the user${
          what === 'made' ? ' (or it already holds a passkey of this wallet)' : ''
        }; nothing was sent`,
        err,
      );
    case 'InvalidStateError':
      return failure('PASSKEY_EXISTS', 'this authenticator already holds a passkey of this wallet; nothing was sent', err);
    case 'SecurityError':
      return failure(
        'PASSKEY_RP_ID_INVALID',
        "WebAuthn refused this page's address as the passkey's RP id (an IP address, or a domain the page is not on): open the page at its domain name or at http://localhost; nothing was sent",
        err,
      );
    case 'NotSupportedError':
      return failure(
        'PASSKEY_UNSUPPORTED',
        'this authenticator supports none of the passkey algorithms a wallet takes (ES256, Ed25519, RS256); nothing was sent',
        err,
      );
    default:
      return failure('PASSKEY_FAILED', `the passkey could not be ${what} (${err instanceof Error ? err.message : String(err)}); nothing was sent`, err);
  }
}

const bytes = (b: Bytes): Uint8Array =>
  b instanceof ArrayBuffer ? new Uint8Array(b.slice(0)) : new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
/** A copy in a fresh ArrayBuffer (what WebAuthn's BufferSource fields take, whatever the input's buffer). */
const buffer = (b: Uint8Array): Uint8Array => new Uint8Array(b);

/** Whether this browser can open a wallet with a passkey, in words (reads `PublicKeyCredential.getClientCapabilities` where present). */
export async function passkeySupport(options: PasskeyOptions = {}): Promise<PasskeySupport> {
  try {
    credentialsOf(options);
  } catch (err) {
    const m = (err as Error).message.replace(/\. Nothing was sent$/, '');
    return { webauthn: false, prf: false, message: `${m.charAt(0).toUpperCase()}${m.slice(1)}.` };
  }
  const pkc = (globalThis as { PublicKeyCredential?: { getClientCapabilities?: () => Promise<Record<string, boolean | undefined>> } }).PublicKeyCredential;
  let capabilities: Record<string, boolean | undefined> | undefined;
  try {
    capabilities = await pkc?.getClientCapabilities?.();
  } catch {
    capabilities = undefined;
  }
  const prf = capabilities?.['extension:prf'];
  if (prf === false) {
    return {
      webauthn: true,
      prf: false,
      message:
        'This browser does not support the passkey PRF extension, which a wallet needs to open with a passkey: use a recent Chrome, Edge, Safari or Firefox, or the PIN.',
    };
  }
  if (prf === true) {
    return {
      webauthn: true,
      prf: true,
      message: 'This browser supports passkeys with PRF. Whether your authenticator does too is checked when the passkey is made.',
    };
  }
  return {
    webauthn: true,
    prf: undefined,
    message: 'This browser has passkeys but does not say whether it supports PRF: that is checked when the passkey is made.',
  };
}

/** The PRF output of a ceremony's extension results, or PASSKEY_PRF_UNSUPPORTED. */
function prfOutput(credential: Credential): Uint8Array {
  const first = credential.getClientExtensionResults().prf?.results?.first;
  if (!first) throw failure('PASSKEY_PRF_UNSUPPORTED', `${NO_PRF}; nothing was sent`);
  const out = bytes(first);
  if (first instanceof ArrayBuffer) new Uint8Array(first).fill(0);
  if (out.length !== 32) throw failure('PASSKEY_PRF_UNSUPPORTED', `the passkey's PRF output is ${out.length} bytes, not 32; nothing was sent`);
  return out;
}

/**
 * Makes a discoverable credential (resident key, user verification required) with the `prf` extension, the
 * wallet's credentials excluded. A credential whose authenticator did not enable PRF is refused
 * (PASSKEY_PRF_UNSUPPORTED), and the browser is told to forget it where it can (`signalUnknownCredential`).
 */
export async function createCredential(
  options: PasskeyOptions,
  request: { user: { id: Uint8Array; name: string; displayName: string }; salt: Uint8Array; exclude: Uint8Array[] },
): Promise<NewCredential> {
  const credentials = credentialsOf(options);
  let credential: Credential;
  try {
    const made = await credentials.create({
      publicKey: {
        rp: { name: options.rpName ?? 'Enclave Wallet', ...(options.rpId ? { id: options.rpId } : {}) },
        user: { id: buffer(request.user.id), name: request.user.name, displayName: request.user.displayName },
        // Not checked by anyone: the credential is proven by an assertion over the registration right after.
        challenge: crypto.getRandomValues(new Uint8Array(32)),
        pubKeyCredParams: ALGORITHMS.map((alg) => ({ type: 'public-key' as const, alg })),
        authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
        excludeCredentials: request.exclude.map((id) => ({ type: 'public-key' as const, id: buffer(id) })),
        attestation: 'none',
        timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        extensions: { prf: { eval: { first: buffer(request.salt) } } },
      },
    });
    if (!made) throw failure('PASSKEY_FAILED', 'the browser made no passkey; nothing was sent');
    credential = made as Credential;
  } catch (err) {
    throw ceremonyError(err, 'made');
  }
  const credentialId = bytes(credential.rawId);
  const response = credential.response;
  const prf = credential.getClientExtensionResults().prf;
  // An output at creation (CTAP 2.2 hmac-secret-mc) is not used: the assertion right after gives it, proven.
  const early = prf?.results?.first;
  if (early instanceof ArrayBuffer) new Uint8Array(early).fill(0);
  if (!prf?.enabled && !early) {
    forgetCredential(options, credentialId);
    throw failure('PASSKEY_PRF_UNSUPPORTED', `${NO_PRF}; nothing was added`);
  }
  const spki = typeof response.getPublicKey === 'function' ? response.getPublicKey() : null;
  const algorithm = typeof response.getPublicKeyAlgorithm === 'function' ? response.getPublicKeyAlgorithm() : 0;
  if (!spki || !ALGORITHMS.includes(algorithm)) {
    forgetCredential(options, credentialId);
    throw failure('PASSKEY_UNSUPPORTED', `the passkey's key (COSE algorithm ${algorithm}) is not ES256, Ed25519 or RS256; nothing was added`);
  }
  return { credentialId, algorithm, publicKey: bytes(spki) };
}

/** Asks the browser to drop a credential the wallet will not hold (best effort: where `signalUnknownCredential` exists). */
export function forgetCredential(options: PasskeyOptions, credentialId: Uint8Array): void {
  const pkc = (globalThis as { PublicKeyCredential?: { signalUnknownCredential?: (o: { rpId: string; credentialId: string }) => Promise<void> } })
    .PublicKeyCredential;
  const rpId = options.rpId ?? (globalThis as { location?: { hostname?: string } }).location?.hostname;
  if (!pkc?.signalUnknownCredential || !rpId || options.credentials) return;
  void pkc.signalUnknownCredential({ rpId, credentialId: toBase64Url(credentialId) }).catch(() => undefined);
}

/**
 * Gets an assertion over `challenge` (user verification required) from one of `allow` (the wallet's credentials),
 * with the PRF output for `salt`. No PRF output: PASSKEY_PRF_UNSUPPORTED.
 */
export async function getAssertion(
  options: PasskeyOptions,
  request: { challenge: Uint8Array; salt: Uint8Array; allow: Uint8Array[] },
): Promise<PasskeyAssertion> {
  const credentials = credentialsOf(options);
  let credential: Credential;
  try {
    const got = await credentials.get({
      publicKey: {
        challenge: buffer(request.challenge),
        ...(options.rpId ? { rpId: options.rpId } : {}),
        allowCredentials: request.allow.map((id) => ({ type: 'public-key' as const, id: buffer(id) })),
        userVerification: 'required',
        timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        extensions: { prf: { eval: { first: buffer(request.salt) } } },
      },
    });
    if (!got) throw failure('PASSKEY_FAILED', 'the browser gave no assertion; nothing was sent');
    credential = got as Credential;
  } catch (err) {
    throw ceremonyError(err, 'used');
  }
  const response = credential.response;
  return {
    credentialId: bytes(credential.rawId),
    authenticatorData: bytes(response.authenticatorData ?? new ArrayBuffer(0)),
    clientDataJSON: bytes(response.clientDataJSON),
    signature: bytes(response.signature ?? new ArrayBuffer(0)),
    userHandle: response.userHandle ? bytes(response.userHandle) : undefined,
    prf: prfOutput(credential),
  };
}
