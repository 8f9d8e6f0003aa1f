/**
 * The enclave's KMS client: the unmodified @aws-sdk/client-kms, pointed at
 * the endpoint and credentials the host hands over at init, with every call
 * that returns key material made with `Recipient` (an attestation document
 * carrying the enclave's RSA key), so KMS encrypts the plaintext to the
 * enclave and it exists in clear only in enclave memory.
 */
import {
  DecryptCommand,
  GenerateDataKeyCommand,
  GenerateRandomCommand,
  KMSClient,
  KMSServiceException,
  type DecryptCommandOutput,
  type GenerateDataKeyCommandOutput,
  type GenerateRandomCommandOutput,
} from '@aws-sdk/client-kms';
import { performance } from 'node:perf_hooks';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import type { Platform } from '../platform/types.js';
import type { DataKeyProvider } from '../sealing/seal.js';
import { decryptCiphertextForRecipient } from './cms.js';
import { DataKeyCache } from './data-key-cache.js';
import { createVsockHttpsAgent } from './vsock-agent.js';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** The enclave's RSA-2048 key for KMS `Recipient`, made once at start-up. */
export class RecipientKey {
  readonly privateKey: KeyObject;
  /** DER SubjectPublicKeyInfo, bound into attestation documents sent to KMS. */
  readonly publicKeyDer: Uint8Array;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = privateKey;
    this.publicKeyDer = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  }
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface KmsConfig {
  region: string;
  /** Empty for the region's default endpoint. */
  endpoint?: string;
  keyId: string;
  credentials: AwsCredentials;
  /** On Nitro: the parent's vsock-proxy (vsock://3:8000); KMS is then reached with TLS over vsock. */
  proxy?: string;
  /** TLS roots trusted for the endpoint (nitro mode: the Amazon roots only, instead of the system store). */
  ca?: readonly string[];
  /** An attempt's deadline to its answer's headers, connection included (default KMS_REQUEST_TIMEOUT_MS; tests shorten it). */
  requestTimeoutMs?: number;
  /** The longest silence of an attempt's connection once made, the answer's body included (default KMS_SOCKET_TIMEOUT_MS). */
  socketTimeoutMs?: number;
  /** An attempt's whole deadline, the answer's body included (default KMS_ATTEMPT_DEADLINE_MS). */
  attemptDeadlineMs?: number;
}

/**
 * A KMS attempt whose answer has not begun within this fails (KMS answers in tens of milliseconds). The SDK's
 * handler has no deadline of its own: an endpoint or a vsock-proxy that holds a connection silent would keep the
 * operation (and what it holds in memory) waiting long after the host gave up on it, and the host's caller would
 * learn only ENCLAVE_TIMEOUT. With KMS_SOCKET_TIMEOUT_MS and KMS_MAX_ATTEMPTS, a KMS that stays silent answers
 * KMS_UNAVAILABLE within about 9 s, one that cannot be reached within about 15, and any attempt ends within 8 s
 * (KMS_ATTEMPT_DEADLINE_MS): all before the host's RPC deadline (30 s).
 */
export const KMS_REQUEST_TIMEOUT_MS = 5_000;
/** An attempt's connection silent this long fails it, the answer's body included (requestTimeout ends at its headers). */
export const KMS_SOCKET_TIMEOUT_MS = 3_000;
/**
 * An attempt's whole deadline, its answer's body included: an answer that drips a byte now and then (a parent
 * relaying genuine TLS records slowly) trips neither of the two above.
 */
export const KMS_ATTEMPT_DEADLINE_MS = 8_000;
/** Attempts per KMS call (the SDK's standard retry). */
export const KMS_MAX_ATTEMPTS = 3;

/** Maps SDK failures to the product's codes; `ciphertextError` is the code for a refused ciphertext. */
function mapError(err: unknown, ciphertextError: 'BLOB_INVALID' | 'KMS_UNAVAILABLE' | 'KMS_ACCESS_DENIED' = 'KMS_UNAVAILABLE'): EnclaveWalletError {
  if (err instanceof EnclaveWalletError) return err;
  if (err instanceof KMSServiceException) {
    switch (err.name) {
      case 'InvalidCiphertextException':
      case 'IncorrectKeyException':
        return new EnclaveWalletError(ciphertextError, 'KMS refused the wrapped data key of this blob');
      case 'AccessDeniedException':
      case 'UnrecognizedClientException':
      case 'InvalidSignatureException':
      case 'ValidationException':
        return new EnclaveWalletError('KMS_ACCESS_DENIED', `KMS refused the request (${err.name})`);
      default:
        return new EnclaveWalletError('KMS_UNAVAILABLE', `KMS failed (${err.name})`);
    }
  }
  return new EnclaveWalletError('KMS_UNAVAILABLE', 'KMS is unreachable');
}

/**
 * The SDK's Node handler with a deadline over each attempt as a whole: an abort signal that fires after `deadlineMs`
 * (with the caller's own, if any), which the handler turns into destroying the request, and with it the answer's
 * body still being read.
 */
class DeadlineHandler extends NodeHttpHandler {
  constructor(
    private readonly deadlineMs: number,
    options: ConstructorParameters<typeof NodeHttpHandler>[0],
  ) {
    super(options);
  }

  override handle(...[request, options = {}]: Parameters<NodeHttpHandler['handle']>): ReturnType<NodeHttpHandler['handle']> {
    const deadline = AbortSignal.timeout(this.deadlineMs);
    const caller = options.abortSignal as AbortSignal | undefined;
    return super.handle(request, { ...options, abortSignal: caller ? AbortSignal.any([caller, deadline]) : deadline });
  }
}

/** How long an attestation document made for KMS `Recipient` is reused (KMS accepts documents up to five minutes old). */
export const RECIPIENT_DOCUMENT_REUSE_MS = 4 * 60_000;

export class EnclaveKms implements DataKeyProvider {
  private readonly client: KMSClient;
  private credentials: AwsCredentials;
  private recipientDocument: { document: Uint8Array; made: number } | undefined;
  /** Data keys recently released to this enclave (see data-key-cache.ts). */
  readonly dataKeys = new DataKeyCache();
  /** KMS calls, failures and seconds waited, for metrics. */
  readonly stats = { calls: 0, errors: 0, micros: 0 };

  /** One KMS call, timed. */
  private async send<T>(command: unknown): Promise<T> {
    const started = performance.now();
    this.stats.calls++;
    try {
      return (await this.client.send(command as never)) as T;
    } catch (err) {
      this.stats.errors++;
      throw err;
    } finally {
      this.stats.micros += Math.round((performance.now() - started) * 1000);
    }
  }

  constructor(
    private readonly config: KmsConfig,
    private readonly platform: Platform,
    private readonly recipientKey: RecipientKey,
  ) {
    this.credentials = config.credentials;
    this.client = new KMSClient({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      // A fresh object per call: the SDK annotates the credentials object it gets.
      credentials: async () => ({ ...this.credentials }),
      maxAttempts: KMS_MAX_ATTEMPTS,
      requestHandler: new DeadlineHandler(config.attemptDeadlineMs ?? KMS_ATTEMPT_DEADLINE_MS, {
        requestTimeout: config.requestTimeoutMs ?? KMS_REQUEST_TIMEOUT_MS,
        // Without it the SDK only logs a warning when requestTimeout passes, and the call goes on waiting.
        throwOnRequestTimeout: true,
        // requestTimeout ends when the answer's headers arrive; this one also covers a body that stalls after them.
        socketTimeout: config.socketTimeoutMs ?? KMS_SOCKET_TIMEOUT_MS,
        ...(config.proxy ? { httpsAgent: createVsockHttpsAgent({ proxy: config.proxy, ...(config.ca ? { tls: { ca: [...config.ca] } } : {}) }) } : {}),
      }),
    });
  }

  /** Replaces the credentials (they are temporary on EC2). */
  updateCredentials(credentials: AwsCredentials): void {
    this.credentials = credentials;
  }

  private recipient(): { AttestationDocument: Uint8Array; KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' } {
    // The document binds only the enclave's RSA key, which lives as long as the process: reuse it while KMS accepts it.
    const now = Date.now();
    if (!this.recipientDocument || now - this.recipientDocument.made > RECIPIENT_DOCUMENT_REUSE_MS) {
      this.recipientDocument = { document: this.platform.attest({ publicKey: this.recipientKey.publicKeyDer }), made: now };
    }
    return { AttestationDocument: this.recipientDocument.document, KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' };
  }

  private open(ciphertextForRecipient: Uint8Array | undefined): Uint8Array {
    if (!ciphertextForRecipient) throw new EnclaveWalletError('KMS_UNAVAILABLE', 'KMS answered without CiphertextForRecipient');
    try {
      return decryptCiphertextForRecipient(ciphertextForRecipient, this.recipientKey.privateKey);
    } catch {
      throw new EnclaveWalletError('KMS_UNAVAILABLE', 'KMS answered with a CiphertextForRecipient this enclave cannot open');
    }
  }

  /** Random bytes only this enclave can read (GenerateRandom with Recipient). */
  async generateRandom(numberOfBytes: number): Promise<Uint8Array> {
    try {
      const out = await this.send<GenerateRandomCommandOutput>(new GenerateRandomCommand({ NumberOfBytes: numberOfBytes, Recipient: this.recipient() }));
      const bytes = this.open(out.CiphertextForRecipient);
      if (bytes.length !== numberOfBytes) throw new EnclaveWalletError('KMS_UNAVAILABLE', 'KMS returned the wrong number of random bytes');
      return bytes;
    } catch (err) {
      throw mapError(err);
    }
  }

  async generateDataKey(context: Record<string, string>): Promise<{ plaintext: Uint8Array; ciphertextBlob: Uint8Array; keyId: string }> {
    try {
      const out = await this.send<GenerateDataKeyCommandOutput>(
        new GenerateDataKeyCommand({ KeyId: this.config.keyId, KeySpec: 'AES_256', EncryptionContext: context, Recipient: this.recipient() }),
      );
      if (out.Plaintext && out.Plaintext.length > 0) throw new EnclaveWalletError('KMS_UNAVAILABLE', 'KMS returned a plaintext data key despite Recipient');
      if (!out.CiphertextBlob || !out.KeyId) throw new EnclaveWalletError('KMS_UNAVAILABLE', 'KMS answered without a CiphertextBlob');
      const plaintext = dataKeyOf(this.open(out.CiphertextForRecipient));
      this.dataKeys.put(out.CiphertextBlob, context, plaintext);
      return { plaintext, ciphertextBlob: out.CiphertextBlob, keyId: out.KeyId };
    } catch (err) {
      throw mapError(err);
    }
  }

  /**
   * Decrypts a small secret the operator encrypted under the wallet key with
   * `context` (the guard's credentials). With Recipient, so only an attested
   * image reads it.
   */
  async decryptSecret(ciphertextBlob: Uint8Array, context: Record<string, string>): Promise<Uint8Array> {
    try {
      const out = await this.send<DecryptCommandOutput>(
        new DecryptCommand({ CiphertextBlob: ciphertextBlob, KeyId: this.config.keyId, EncryptionContext: context, Recipient: this.recipient() }),
      );
      if (out.Plaintext && out.Plaintext.length > 0) throw new EnclaveWalletError('KMS_UNAVAILABLE', 'KMS returned a plaintext despite Recipient');
      return this.open(out.CiphertextForRecipient);
    } catch (err) {
      throw mapError(err, 'KMS_ACCESS_DENIED');
    }
  }

  /** Opens a blob's data key. Always names the configured (pinned) key: KMS refuses a ciphertext made under any other key. */
  async decryptDataKey(ciphertextBlob: Uint8Array, context: Record<string, string>): Promise<Uint8Array> {
    const cached = this.dataKeys.get(ciphertextBlob, context);
    if (cached) return cached;
    try {
      const out = await this.send<DecryptCommandOutput>(
        new DecryptCommand({ CiphertextBlob: ciphertextBlob, KeyId: this.config.keyId, EncryptionContext: context, Recipient: this.recipient() }),
      );
      if (out.Plaintext && out.Plaintext.length > 0) throw new EnclaveWalletError('KMS_UNAVAILABLE', 'KMS returned a plaintext data key despite Recipient');
      const key = dataKeyOf(this.open(out.CiphertextForRecipient));
      this.dataKeys.put(ciphertextBlob, context, key);
      return key;
    } catch (err) {
      throw mapError(err, 'BLOB_INVALID');
    }
  }
}

/** An AES-256 data key is 32 bytes: anything else is refused (and zeroed), never used as a key. */
function dataKeyOf(plaintext: Uint8Array): Uint8Array {
  if (plaintext.length === 32) return plaintext;
  plaintext.fill(0);
  throw new EnclaveWalletError('KMS_UNAVAILABLE', 'KMS released a data key that is not 32 bytes');
}
