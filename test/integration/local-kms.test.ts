/**
 * The unmodified @aws-sdk/client-kms against the local KMS endpoint, and the
 * enclave's KMS client with attested Recipient documents from the simulated
 * NSM: CiphertextForRecipient in the real CMS shape, key policies bound to
 * PCR0, encryption context enforced, the SDK's real error classes.
 */
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateRandomCommand,
  KMSClient,
  NotFoundException,
  InvalidCiphertextException,
  PutKeyPolicyCommand,
} from '@aws-sdk/client-kms';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { DEFAULT_REQUEST_TIMEOUT_MS, EnclaveWalletError } from '@enclave-wallet/proto';
import { LocalKms, LOCAL_KMS_CREDENTIALS } from '@enclave-wallet/devtools';
import {
  EnclaveKms,
  KMS_ATTEMPT_DEADLINE_MS,
  KMS_MAX_ATTEMPTS,
  KMS_REQUEST_TIMEOUT_MS,
  KMS_SOCKET_TIMEOUT_MS,
  RecipientKey,
} from '../../enclave/src/kms/client.js';
import { startSilentServer } from '../support/silent-server.js';
import { parseCiphertextForRecipient } from '../../enclave/src/kms/cms.js';
import { readDevRoot, SimulatedNsm } from '../../devtools/src/nsm/index.js';
import { ENCLAVE_CODE_DIR } from '../../enclave/src/platform/index.js';

const dir = mkdtempSync(join(tmpdir(), 'local-kms-'));
const caDir = join(dir, 'dev-ca');
const nsm = new SimulatedNsm({ codeDirs: [ENCLAVE_CODE_DIR], caDir });
const pcr0 = Buffer.from(nsm.pcrs().get(0)!).toString('hex');
let server: Server;
let url: string;
let sdk: KMSClient;
const recipientKey = new RecipientKey();

beforeAll(async () => {
  const kms = new LocalKms({ dataDir: join(dir, 'kms'), devRoot: () => readDevRoot(caDir) });
  ({ server, url } = await kms.listen(0));
  sdk = new KMSClient({ region: 'us-east-1', endpoint: url, credentials: { ...LOCAL_KMS_CREDENTIALS } });
});
afterAll(async () => {
  sdk.destroy();
  await new Promise((r) => server.close(r));
});

const enclaveKms = (keyId: string, credentials = LOCAL_KMS_CREDENTIALS): EnclaveKms =>
  new EnclaveKms({ region: 'us-east-1', endpoint: url, keyId, credentials }, nsm, recipientKey);

/** The sequence of BER tags down the tree, to compare shapes. */
function shape(bytes: Uint8Array): string {
  const out: string[] = [];
  const walk = (b: Uint8Array, pos: number, end: number, depth: number): void => {
    while (pos < end) {
      if (b[pos] === 0 && b[pos + 1] === 0) {
        pos += 2;
        out.push(`${depth}:eoc`);
        continue;
      }
      const tag = b[pos]!;
      let p = pos + 1;
      const first = b[p++]!;
      let len = first;
      let indefinite = false;
      if (first === 0x80) indefinite = true;
      else if (first & 0x80) {
        len = 0;
        for (let i = 0; i < (first & 0x7f); i++) len = len * 256 + b[p++]!;
      }
      out.push(`${depth}:${tag.toString(16)}${indefinite ? '∞' : ''}`);
      if (indefinite) {
        // Find the matching end by walking the children.
        const before = out.length;
        let q = p;
        let open = 1;
        while (open > 0) {
          if (b[q] === 0 && b[q + 1] === 0) {
            open--;
            q += 2;
            continue;
          }
          const t = b[q]!;
          const f = b[q + 1]!;
          if (f === 0x80) {
            open++;
            q += 2;
            continue;
          }
          let l = f;
          let h = 2;
          if (f & 0x80) {
            l = 0;
            for (let i = 0; i < (f & 0x7f); i++) l = l * 256 + b[q + 2 + i]!;
            h += f & 0x7f;
          }
          q += h + (t & 0x20 ? 0 : l);
        }
        out.length = before;
        walk(b, p, q - 2, depth + 1);
        pos = q;
      } else {
        if (tag & 0x20) walk(b, p, p + len, depth + 1);
        pos = p + len;
      }
    }
  };
  walk(bytes, 0, bytes.length, 0);
  return out.join(' ');
}

test('CreateKey, DescribeKey, Encrypt and Decrypt with the real SDK; encryption context enforced', async () => {
  const { KeyMetadata } = await sdk.send(new CreateKeyCommand({ Description: 'test' }));
  expect(KeyMetadata?.Arn).toMatch(/^arn:aws:kms:us-east-1:000000000000:key\//);
  const described = await sdk.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId! }));
  expect(described.KeyMetadata?.KeyState).toBe('Enabled');
  const ctx = { wallet: 'w-1' };
  const enc = await sdk.send(new EncryptCommand({ KeyId: KeyMetadata!.Arn!, Plaintext: Buffer.from('hello'), EncryptionContext: ctx }));
  const dec = await sdk.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ctx }));
  expect(Buffer.from(dec.Plaintext!).toString()).toBe('hello');
  await expect(sdk.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { wallet: 'w-2' } }))).rejects.toBeInstanceOf(
    InvalidCiphertextException,
  );
  await expect(sdk.send(new DescribeKeyCommand({ KeyId: 'no-such-key' }))).rejects.toBeInstanceOf(NotFoundException);
});

test('requests signed with unknown credentials are refused', async () => {
  const stranger = new KMSClient({ region: 'us-east-1', endpoint: url, credentials: { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' } });
  await expect(stranger.send(new GenerateRandomCommand({ NumberOfBytes: 8 }))).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
  const wrongSecret = new KMSClient({
    region: 'us-east-1',
    endpoint: url,
    credentials: { accessKeyId: LOCAL_KMS_CREDENTIALS.accessKeyId, secretAccessKey: 'wrong' },
  });
  await expect(wrongSecret.send(new GenerateRandomCommand({ NumberOfBytes: 8 }))).rejects.toMatchObject({ name: 'InvalidSignatureException' });
  stranger.destroy();
  wrongSecret.destroy();
});

test('with Recipient, plaintext never leaves KMS in clear and the CMS has the shape of real KMS output', async () => {
  const { KeyMetadata } = await sdk.send(new CreateKeyCommand({}));
  const Recipient = { AttestationDocument: nsm.attest({ publicKey: recipientKey.publicKeyDer }), KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' as const };
  const out = await sdk.send(new GenerateDataKeyCommand({ KeyId: KeyMetadata!.KeyId!, KeySpec: 'AES_256', Recipient }));
  expect(out.Plaintext?.length ?? 0).toBe(0);
  const cms = out.CiphertextForRecipient!;
  const real = JSON.parse(readFileSync(new URL('../fixtures/kms/ciphertext-for-recipient-vectors.json', import.meta.url), 'utf8')).vectors[0].cms_hex as string;
  expect(shape(cms)).toBe(shape(Buffer.from(real, 'hex')));
  const parsed = parseCiphertextForRecipient(cms);
  expect(parsed.encryptedKey).toHaveLength(256);
  expect(parsed.encryptedContent).toHaveLength(48); // 32-byte key, CBC-padded
});

test('the enclave client: GenerateRandom, GenerateDataKey and Decrypt through Recipient', async () => {
  const { KeyMetadata } = await sdk.send(new CreateKeyCommand({}));
  const kms = enclaveKms(KeyMetadata!.Arn!);
  const random = await kms.generateRandom(32);
  expect(random).toHaveLength(32);
  expect(random.some((b) => b !== 0)).toBe(true);
  const ctx = { 'enclave-wallet:wallet-id': 'w-1', 'enclave-wallet:user-id': 'u-1' };
  const dk = await kms.generateDataKey(ctx);
  expect(dk.plaintext).toHaveLength(32);
  const again = await kms.decryptDataKey(dk.ciphertextBlob, ctx);
  expect(Buffer.from(again).equals(Buffer.from(dk.plaintext))).toBe(true);
  await expect(kms.decryptDataKey(dk.ciphertextBlob, { ...ctx, 'enclave-wallet:user-id': 'u-2' })).rejects.toMatchObject({ code: 'BLOB_INVALID' });
  // A data key made under another key (a blob a host minted elsewhere) is refused: the enclave always names its own key.
  const other = enclaveKms((await sdk.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!);
  const foreign = await other.generateDataKey(ctx);
  await expect(kms.decryptDataKey(foreign.ciphertextBlob, ctx)).rejects.toMatchObject({ code: 'BLOB_INVALID' });
});

test.each([
  ['a KMS that holds its connections silent, cut by the attempt’s deadline to an answer', 'silent', { requestTimeoutMs: 250, socketTimeoutMs: 60_000 }],
  ['a KMS that holds its connections silent, cut by the connection’s silence', 'silent', { requestTimeoutMs: 60_000, socketTimeoutMs: 250 }],
  ['a KMS answer that stops after its headers, cut by the connection’s silence', 'stalled-body', { requestTimeoutMs: 60_000, socketTimeoutMs: 250 }],
] as const)(
  '%s: KMS_UNAVAILABLE after every attempt, not a call left waiting',
  async (_name, how, deadlines) => {
    const server = await startSilentServer(how);
    try {
      const kms = new EnclaveKms(
        { region: 'us-east-1', endpoint: server.url, keyId: 'k', credentials: LOCAL_KMS_CREDENTIALS, ...deadlines },
        nsm,
        recipientKey,
      );
      const started = Date.now();
      await expect(kms.generateRandom(32)).rejects.toMatchObject({ code: 'KMS_UNAVAILABLE' });
      const elapsed = Date.now() - started;
      expect(server.connections).toBe(KMS_MAX_ATTEMPTS);
      expect(elapsed).toBeGreaterThanOrEqual(KMS_MAX_ATTEMPTS * 250 - 50);
      expect(elapsed).toBeLessThan(10_000);
    } finally {
      await server.close();
    }
  },
  30_000,
);

test('a KMS answer that drips a byte every 100 ms: cut by the attempt’s whole deadline, not held open for ever', async () => {
  const drip = await startSilentServer('drip');
  try {
    const kms = new EnclaveKms(
      {
        region: 'us-east-1',
        endpoint: drip.url,
        keyId: 'k',
        credentials: LOCAL_KMS_CREDENTIALS,
        requestTimeoutMs: 60_000,
        socketTimeoutMs: 60_000,
        attemptDeadlineMs: 400,
      },
      nsm,
      recipientKey,
    );
    const started = Date.now();
    await expect(kms.generateRandom(32)).rejects.toMatchObject({ code: 'KMS_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(KMS_MAX_ATTEMPTS * 400 + 3_000);
  } finally {
    await drip.close();
  }
}, 30_000);

test('the production deadlines: every attempt, times the attempts, ends before the host’s RPC deadline gives up on the call', () => {
  expect(KMS_ATTEMPT_DEADLINE_MS).toBeLessThanOrEqual(KMS_REQUEST_TIMEOUT_MS + KMS_SOCKET_TIMEOUT_MS);
  expect(KMS_MAX_ATTEMPTS * KMS_ATTEMPT_DEADLINE_MS).toBeLessThan(DEFAULT_REQUEST_TIMEOUT_MS - 5_000);
});

test('a key policy bound to PCR0 releases keys only to that measurement', async () => {
  const policy = (image: string): string =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'admin', Effect: 'Allow', Action: ['kms:DescribeKey', 'kms:PutKeyPolicy', 'kms:GetKeyPolicy'], Principal: '*', Resource: '*' },
        {
          Sid: 'enclave',
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Principal: '*',
          Resource: '*',
          Condition: { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': image } },
        },
      ],
    });
  const { KeyMetadata } = await sdk.send(new CreateKeyCommand({ Policy: policy(pcr0) }));
  const kms = enclaveKms(KeyMetadata!.Arn!);
  const ctx = { a: 'b' };
  const dk = await kms.generateDataKey(ctx);
  // Without Recipient (what a host could call) nothing is released.
  await expect(sdk.send(new DecryptCommand({ CiphertextBlob: dk.ciphertextBlob, EncryptionContext: ctx }))).rejects.toMatchObject({
    name: 'AccessDeniedException',
  });
  await expect(sdk.send(new GenerateDataKeyCommand({ KeyId: KeyMetadata!.KeyId!, KeySpec: 'AES_256' }))).rejects.toMatchObject({
    name: 'AccessDeniedException',
  });
  // Another image (the policy names a different PCR0) gets nothing either.
  await sdk.send(new PutKeyPolicyCommand({ KeyId: KeyMetadata!.KeyId!, PolicyName: 'default', Policy: policy('00'.repeat(48)) }));
  // A fresh enclave process (nothing cached) asks KMS again, and is refused.
  const err = (await enclaveKms(KeyMetadata!.Arn!)
    .decryptDataKey(dk.ciphertextBlob, ctx)
    .catch((e: unknown) => e)) as EnclaveWalletError;
  expect(err).toBeInstanceOf(EnclaveWalletError);
  expect(err.code).toBe('KMS_ACCESS_DENIED');
});

test('a Recipient document from an untrusted root or with a non-RSA key is refused', async () => {
  const { KeyMetadata } = await sdk.send(new CreateKeyCommand({}));
  const stranger = new SimulatedNsm({ codeDirs: [ENCLAVE_CODE_DIR], caDir: join(dir, 'other-ca') });
  await expect(
    sdk.send(
      new GenerateDataKeyCommand({
        KeyId: KeyMetadata!.KeyId!,
        KeySpec: 'AES_256',
        Recipient: { AttestationDocument: stranger.attest({ publicKey: recipientKey.publicKeyDer }), KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' },
      }),
    ),
  ).rejects.toMatchObject({ name: 'ValidationException' });
  await expect(
    sdk.send(
      new GenerateDataKeyCommand({
        KeyId: KeyMetadata!.KeyId!,
        KeySpec: 'AES_256',
        Recipient: { AttestationDocument: nsm.attest({ publicKey: new Uint8Array(32) }), KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' },
      }),
    ),
  ).rejects.toMatchObject({ name: 'ValidationException' });
});

test('keys persist across restarts of the endpoint', async () => {
  const { KeyMetadata } = await sdk.send(new CreateKeyCommand({}));
  const enc = await sdk.send(new EncryptCommand({ KeyId: KeyMetadata!.KeyId!, Plaintext: Buffer.from('kept') }));
  const second = new LocalKms({ dataDir: join(dir, 'kms'), devRoot: () => readDevRoot(caDir) });
  const { server: s2, url: u2 } = await second.listen(0);
  const client2 = new KMSClient({ region: 'us-east-1', endpoint: u2, credentials: { ...LOCAL_KMS_CREDENTIALS } });
  const dec = await client2.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
  expect(Buffer.from(dec.Plaintext!).toString()).toBe('kept');
  client2.destroy();
  await new Promise((r) => s2.close(r));
});
