/**
 * LOCAL KMS — a development stand-in for AWS KMS that speaks its JSON 1.1
 * protocol (`X-Amz-Target: TrentService.<Operation>`, SigV4-signed requests,
 * errors as `{ "__type", "message" }`) to the unmodified @aws-sdk/client-kms.
 * Operations: CreateKey, DescribeKey, PutKeyPolicy, GetKeyPolicy,
 * GenerateRandom, GenerateDataKey, Encrypt, Decrypt. With `Recipient` it
 * verifies the Nitro attestation document (against the local dev root) and
 * answers `CiphertextForRecipient` in the real CMS format, enforcing key
 * policy conditions on `kms:RecipientAttestation:ImageSha384` / `PCRn` and
 * `kms:EncryptionContext:<key>`.
 * Never part of a production deployment: production uses AWS KMS.
 */
import { createCipheriv, createDecipheriv, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AttestationError, verifyAttestationDocument } from '@enclave-wallet/client';
import { buildCiphertextForRecipient } from './cms-builder.js';
import { isAllowed, OPEN_POLICY, parsePolicy, type RequestContext } from './policy.js';
import { SigV4Error, verifySigV4 } from './sigv4.js';
import { KeyStore, type StoredKey } from './store.js';

/** Dev credentials the local stack hands to the enclave (not secrets: local only). */
export const LOCAL_KMS_CREDENTIALS = Object.freeze({ accessKeyId: 'LOCALKMSDEVACCESSKEY', secretAccessKey: 'local-kms-dev-secret-not-for-production' });

/** An attestation document older than this is refused as a Recipient. */
const MAX_ATTESTATION_AGE_MS = 5 * 60_000;
const MAX_BODY_BYTES = 1024 * 1024;
const BLOB_VERSION = 1;

class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface LocalKmsOptions {
  /** Where keys are kept. */
  dataDir: string;
  /** Reads the dev root certificate that Recipient documents must chain to. */
  devRoot: () => Uint8Array;
  /** Access key id → secret key accepted for SigV4. Default: LOCAL_KMS_CREDENTIALS. */
  credentials?: ReadonlyMap<string, string>;
  now?: () => number;
}

type Json = Record<string, unknown>;

const b64 = (v: unknown, field: string): Buffer => {
  if (typeof v !== 'string') throw new KmsError('ValidationException', `${field} must be a base64 string`);
  return Buffer.from(v, 'base64');
};

/** Canonical form of an encryption context, used as AEAD associated data. */
function contextBytes(ctx: unknown): Buffer {
  if (ctx === undefined || ctx === null) return Buffer.from('{}');
  if (typeof ctx !== 'object' || Array.isArray(ctx)) throw new KmsError('ValidationException', 'EncryptionContext must be a map');
  const entries = Object.entries(ctx as Record<string, unknown>).map(([k, v]) => {
    if (typeof v !== 'string') throw new KmsError('ValidationException', 'EncryptionContext values must be strings');
    return [k, v] as const;
  });
  return Buffer.from(JSON.stringify(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

export class LocalKms {
  readonly store: KeyStore;
  private readonly credentials: ReadonlyMap<string, string>;
  private readonly now: () => number;

  constructor(private readonly options: LocalKmsOptions) {
    this.store = new KeyStore(options.dataDir);
    this.credentials = options.credentials ?? new Map([[LOCAL_KMS_CREDENTIALS.accessKeyId, LOCAL_KMS_CREDENTIALS.secretAccessKey]]);
    this.now = options.now ?? Date.now;
  }

  /** Serves on host:port (port 0 for any); resolves with the URL. */
  async listen(port: number, host = '127.0.0.1'): Promise<{ url: string; server: Server }> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return { url: `http://${host}:${(server.address() as AddressInfo).port}`, server };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: Json): void => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomBytes(16).toString('hex') });
      res.end(JSON.stringify(body));
    };
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES) throw new KmsError('ValidationException', 'request too large', 413);
        chunks.push(chunk as Buffer);
      }
      const body = Buffer.concat(chunks);
      if (req.method !== 'POST') throw new KmsError('UnsupportedOperationException', 'only POST is supported');
      try {
        verifySigV4(req.method, req.url ?? '/', req.headers, body, this.credentials);
      } catch (err) {
        if (err instanceof SigV4Error) throw new KmsError(err.type, err.message, 403);
        throw err;
      }
      const target = req.headers['x-amz-target'];
      if (typeof target !== 'string' || !target.startsWith('TrentService.')) throw new KmsError('UnknownOperationException', 'missing or unknown X-Amz-Target');
      let input: Json;
      try {
        input = body.length ? (JSON.parse(body.toString('utf8')) as Json) : {};
      } catch {
        throw new KmsError('SerializationException', 'body is not JSON');
      }
      send(200, this.dispatch(target.slice('TrentService.'.length), input));
    } catch (err) {
      if (err instanceof KmsError) send(err.status, { __type: err.type, message: err.message });
      else send(500, { __type: 'KMSInternalException', message: 'internal error' });
    }
  }

  private dispatch(operation: string, input: Json): Json {
    switch (operation) {
      case 'CreateKey':
        return this.createKey(input);
      case 'DescribeKey':
        return { KeyMetadata: this.metadata(this.key(input.KeyId)) };
      case 'PutKeyPolicy': {
        const key = this.key(input.KeyId);
        try {
          this.store.setPolicy(key, parsePolicy(String(input.Policy)));
        } catch (err) {
          throw new KmsError('MalformedPolicyDocumentException', (err as Error).message);
        }
        return {};
      }
      case 'GetKeyPolicy':
        return { Policy: JSON.stringify(this.key(input.KeyId).policy), PolicyName: 'default' };
      case 'GenerateRandom': {
        const n = input.NumberOfBytes;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1024) throw new KmsError('ValidationException', 'NumberOfBytes must be 1 to 1024');
        const recipient = this.recipient(input.Recipient);
        // GenerateRandom has no key; only attestation-conditioned IAM would apply, which is not emulated.
        return this.plaintextOut(randomBytes(n), recipient);
      }
      case 'GenerateDataKey': {
        const key = this.key(input.KeyId);
        const recipient = this.recipient(input.Recipient);
        this.authorize(key, 'kms:GenerateDataKey', recipient, input.EncryptionContext);
        const bytes = input.KeySpec === 'AES_256' ? 32 : input.KeySpec === 'AES_128' ? 16 : typeof input.NumberOfBytes === 'number' ? input.NumberOfBytes : 0;
        if (!Number.isInteger(bytes) || bytes < 1 || bytes > 1024) throw new KmsError('ValidationException', 'KeySpec or NumberOfBytes is required');
        const plaintext = randomBytes(bytes);
        return {
          KeyId: key.arn,
          CiphertextBlob: this.seal(key, plaintext, contextBytes(input.EncryptionContext)).toString('base64'),
          ...this.plaintextOut(plaintext, recipient),
        };
      }
      case 'Encrypt': {
        const key = this.key(input.KeyId);
        this.authorize(key, 'kms:Encrypt', undefined, input.EncryptionContext);
        const plaintext = b64(input.Plaintext, 'Plaintext');
        if (plaintext.length < 1 || plaintext.length > 4096) throw new KmsError('ValidationException', 'Plaintext must be 1 to 4096 bytes');
        return {
          KeyId: key.arn,
          CiphertextBlob: this.seal(key, plaintext, contextBytes(input.EncryptionContext)).toString('base64'),
          EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        };
      }
      case 'Decrypt': {
        const blob = b64(input.CiphertextBlob, 'CiphertextBlob');
        if (blob.length < 1 + 16 + 12 + 16 || blob[0] !== BLOB_VERSION) throw new KmsError('InvalidCiphertextException', 'The ciphertext is invalid.');
        const key = this.store.find(formatUuid(blob.subarray(1, 17)));
        if (!key) throw new KmsError('InvalidCiphertextException', 'The ciphertext is invalid.');
        if (input.KeyId !== undefined && this.key(input.KeyId).keyId !== key.keyId)
          throw new KmsError('IncorrectKeyException', 'The key ID in the request does not identify the key that encrypted the ciphertext.');
        const recipient = this.recipient(input.Recipient);
        this.authorize(key, 'kms:Decrypt', recipient, input.EncryptionContext);
        const plaintext = this.open(key, blob, contextBytes(input.EncryptionContext));
        return { KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT', ...this.plaintextOut(plaintext, recipient) };
      }
      default:
        throw new KmsError('UnsupportedOperationException', `${operation} is not supported by the local KMS`);
    }
  }

  private createKey(input: Json): Json {
    if (input.KeySpec !== undefined && input.KeySpec !== 'SYMMETRIC_DEFAULT')
      throw new KmsError('UnsupportedOperationException', 'only SYMMETRIC_DEFAULT keys');
    let policy = OPEN_POLICY;
    if (input.Policy !== undefined) {
      try {
        policy = parsePolicy(String(input.Policy));
      } catch (err) {
        throw new KmsError('MalformedPolicyDocumentException', (err as Error).message);
      }
    }
    return { KeyMetadata: this.metadata(this.store.create(typeof input.Description === 'string' ? input.Description : '', policy)) };
  }

  private metadata(key: StoredKey): Json {
    return {
      AWSAccountId: '000000000000',
      KeyId: key.keyId,
      Arn: key.arn,
      CreationDate: key.createdAt / 1000,
      Enabled: true,
      Description: key.description,
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeyState: 'Enabled',
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      KeySpec: 'SYMMETRIC_DEFAULT',
      CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      MultiRegion: false,
    };
  }

  private key(id: unknown): StoredKey {
    if (typeof id !== 'string' || id.length === 0) throw new KmsError('ValidationException', 'KeyId is required');
    const key = this.store.find(id);
    if (!key) throw new KmsError('NotFoundException', `Key '${id}' does not exist`);
    return key;
  }

  /** Verifies a Recipient and returns its RSA key and the attestation facts policies may test. */
  private recipient(value: unknown): { publicKey: KeyObject; context: RequestContext } | undefined {
    if (value === undefined || value === null) return undefined;
    const r = value as Json;
    if (r.KeyEncryptionAlgorithm !== 'RSAES_OAEP_SHA_256')
      throw new KmsError('ValidationException', 'Recipient.KeyEncryptionAlgorithm must be RSAES_OAEP_SHA_256');
    let doc;
    try {
      doc = verifyAttestationDocument(new Uint8Array(b64(r.AttestationDocument, 'Recipient.AttestationDocument')), {
        root: this.options.devRoot(),
        at: new Date(this.now()),
      });
    } catch (err) {
      if (err instanceof AttestationError) throw new KmsError('ValidationException', `The attestation document is not valid: ${err.code}`);
      throw err;
    }
    if (this.now() - doc.timestamp > MAX_ATTESTATION_AGE_MS || doc.timestamp - this.now() > 60_000)
      throw new KmsError('ValidationException', 'The attestation document is too old');
    if (!doc.publicKey) throw new KmsError('ValidationException', 'The attestation document has no public key');
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey({ key: Buffer.from(doc.publicKey), format: 'der', type: 'spki' });
    } catch {
      throw new KmsError('ValidationException', 'The attestation document public key is not an RSA SubjectPublicKeyInfo');
    }
    if (publicKey.asymmetricKeyType !== 'rsa' || (publicKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
      throw new KmsError('ValidationException', 'The recipient key must be RSA of at least 2048 bits');
    const context: RequestContext = {};
    for (const [index, value] of doc.pcrs) context[`kms:RecipientAttestation:PCR${index}`] = Buffer.from(value).toString('hex');
    context['kms:RecipientAttestation:ImageSha384'] = context['kms:RecipientAttestation:PCR0'] ?? '';
    return { publicKey, context };
  }

  private authorize(key: StoredKey, action: string, recipient: { context: RequestContext } | undefined, encryptionContext?: unknown): void {
    const context: RequestContext = { ...recipient?.context };
    // kms:EncryptionContext:<key> condition keys, as AWS KMS evaluates them.
    if (encryptionContext && typeof encryptionContext === 'object') {
      for (const [k, v] of Object.entries(encryptionContext as Record<string, unknown>)) if (typeof v === 'string') context[`kms:EncryptionContext:${k}`] = v;
    }
    if (!isAllowed(key.policy, action, context)) {
      throw new KmsError('AccessDeniedException', `The key policy does not allow ${action} for this request${recipient ? '' : ' (no attested Recipient)'}`);
    }
  }

  private plaintextOut(plaintext: Buffer, recipient: { publicKey: KeyObject } | undefined): Json {
    try {
      if (recipient) return { CiphertextForRecipient: Buffer.from(buildCiphertextForRecipient(plaintext, recipient.publicKey)).toString('base64') };
      return { Plaintext: plaintext.toString('base64') };
    } finally {
      plaintext.fill(0);
    }
  }

  private seal(key: StoredKey, plaintext: Buffer, aad: Buffer): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key.material, iv);
    cipher.setAAD(aad);
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return Buffer.concat([Buffer.of(BLOB_VERSION), Buffer.from(key.keyId.replace(/-/g, ''), 'hex'), iv, ct]);
  }

  private open(key: StoredKey, blob: Buffer, aad: Buffer): Buffer {
    const iv = blob.subarray(17, 29);
    const body = blob.subarray(29);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.material, iv);
      decipher.setAAD(aad);
      decipher.setAuthTag(body.subarray(body.length - 16));
      return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]);
    } catch {
      // Wrong encryption context or tampered blob: KMS does not say which.
      throw new KmsError('InvalidCiphertextException', 'The ciphertext is invalid.');
    }
  }
}

function formatUuid(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
