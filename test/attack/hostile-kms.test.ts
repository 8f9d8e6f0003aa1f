/**
 * Attack: the host points the enclave at a KMS of its choosing. KMS answers
 * (CiphertextForRecipient) are not signed, so a fake KMS could encrypt
 * entropy and data keys of its own choosing to the enclave's RSA key. The
 * controls: in nitro mode the image pins the key ARN and guard table, the
 * region comes from the ARN and the endpoints are derived by the enclave (an
 * init naming anything else is refused, an image without the pins does not
 * start), TLS trusts only the Amazon roots; and a wallet's entropy mixes KMS
 * with the NSM's and the enclave's own randomness, so even a KMS that answers
 * GenerateRandom with fixed bytes does not choose a seed.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { entropyToMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { toHex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { verifyAttestationDocument } from '@enclave-wallet/client';
import { buildCiphertextForRecipient } from '@enclave-wallet/devtools';
import { createEnclaveService, createLogger, loadStartupConfig, startEnclaveServer, validateInit } from '@enclave-wallet/enclave';
import { testStartupConfig } from '../support/startup.js';
import { EnclaveWalletError, RpcClient, type RpcServer } from '@enclave-wallet/proto';
import { AMAZON_ROOTS } from '../../enclave/src/kms/amazon-roots.js';
import { SimulatedNsm } from '../../devtools/src/nsm/index.js';
import { ENCLAVE_CODE_DIR } from '../../enclave/src/platform/index.js';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { hpkeOpen } from '../support/hpke-reference.js';
import { RECOVERY_INFO, sealEnvelope } from '../support/envelopes.js';
import { startLocalAws, type LocalAws } from '../support/local-aws.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const TABLE = 'arn:aws:dynamodb:eu-west-1:111122223333:table/enclave-wallet-guard';
const NITRO_ENV = { ENCLAVE_PLATFORM: 'nitro', ENCLAVE_KMS_KEY_ID: KEY, ENCLAVE_GUARD_TABLE: TABLE };
const CREDS = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' };

describe('nitro mode: the image, not the host, decides where KMS and the guard are', () => {
  const startup = loadStartupConfig(NITRO_ENV);

  test('an image without a pinned key or guard table, or with a bare key id, does not start', () => {
    expect(() => loadStartupConfig({ ENCLAVE_PLATFORM: 'nitro' })).toThrow(/ENCLAVE_KMS_KEY_ID is required[\s\S]*ENCLAVE_GUARD_TABLE is required/);
    expect(() => loadStartupConfig({ ...NITRO_ENV, ENCLAVE_KMS_KEY_ID: '1234abcd-12ab-34cd-56ef-1234567890ab' })).toThrow(/full KMS key ARN/);
    expect(() => loadStartupConfig({ ...NITRO_ENV, ENCLAVE_GUARD_TABLE: 'enclave-wallet-guard' })).toThrow(/table ARN/);
    expect(() => loadStartupConfig({ ...NITRO_ENV, ENCLAVE_GUARD_TABLE: TABLE.replace('eu-west-1', 'us-east-1') })).toThrow(
      /same partition, region and account/,
    );
  });

  test('the enclave process itself refuses to start without the pins', () => {
    const main = join(repo, 'enclave/dist/main.cjs');
    if (!existsSync(main)) throw new Error('enclave/dist/main.cjs is missing: run `npm run build` first');
    const run = spawnSync(process.execPath, [main], {
      env: { ...process.env, ENCLAVE_PLATFORM: 'nitro', ENCLAVE_KMS_KEY_ID: '', ENCLAVE_LISTEN: 'tcp://127.0.0.1:0', NODE_NO_WARNINGS: '1' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/start_failed/);
    expect(run.stderr).toMatch(/ENCLAVE_KMS_KEY_ID is required in nitro mode/);
  });

  test('init may repeat the pinned values or leave them empty; the endpoints are derived, with the Amazon roots', () => {
    const out = validateInit({ credentials: CREDS, guardCredentialsCiphertext: Uint8Array.of(1) }, startup);
    expect(out.kms).toMatchObject({ region: 'eu-west-1', keyId: KEY, endpoint: 'https://kms.eu-west-1.amazonaws.com', proxy: 'vsock://3:8000' });
    expect(out.guard).toMatchObject({ region: 'eu-west-1', table: TABLE, endpoint: 'https://dynamodb.eu-west-1.amazonaws.com', proxy: 'vsock://3:8001' });
    expect(out.kms.ca).toBe(AMAZON_ROOTS);
    expect(out.guard.ca).toBe(AMAZON_ROOTS);
    const same = validateInit(
      {
        kmsRegion: 'eu-west-1',
        kmsKeyId: KEY,
        kmsEndpoint: 'https://kms.eu-west-1.amazonaws.com',
        guardTable: TABLE,
        credentials: CREDS,
        guardCredentialsCiphertext: Uint8Array.of(1),
      },
      startup,
    );
    expect(same.kms.endpoint).toBe('https://kms.eu-west-1.amazonaws.com');
    const fips = validateInit({ credentials: CREDS, guardCredentialsCiphertext: Uint8Array.of(1) }, loadStartupConfig({ ...NITRO_ENV, ENCLAVE_AWS_FIPS: '1' }));
    expect(fips.kms.endpoint).toBe('https://kms-fips.eu-west-1.amazonaws.com');
  });

  test.each([
    ['another endpoint', { kmsEndpoint: 'https://kms.attacker.example' }],
    ['the right name on another port', { kmsEndpoint: 'https://kms.eu-west-1.amazonaws.com:8443' }],
    ['another region', { kmsRegion: 'us-east-1' }],
    ['another key', { kmsKeyId: KEY.replace('1234abcd', 'ffffffff') }],
    ['another guard table', { guardTable: TABLE.replace('111122223333', '999999999999') }],
    ['another guard endpoint', { guardEndpoint: 'https://dynamodb.attacker.example' }],
    ['no guard credentials', { guardCredentialsCiphertext: new Uint8Array(0) }],
  ])('init naming %s is refused', (_name, over) => {
    let err: unknown;
    try {
      validateInit({ credentials: CREDS, guardCredentialsCiphertext: Uint8Array.of(1), ...over }, startup);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EnclaveWalletError);
    expect((err as EnclaveWalletError).code).toBe('CONFIG_REJECTED');
  });

  test('over the transport: a nitro-mode enclave refuses an init that names an attacker endpoint', async () => {
    const caDir = join(mkdtempSync(join(tmpdir(), 'hk-')), 'dev-ca');
    // The real service in nitro mode; only the NSM device is the simulated one (none exists here).
    const service = await createEnclaveService(startup, new SimulatedNsm({ codeDirs: [ENCLAVE_CODE_DIR], caDir }));
    const server = await startEnclaveServer({ listen: 'tcp://127.0.0.1:0', logger: createLogger('error', () => {}), service });
    const rpc = await RpcClient.connect(server.address);
    try {
      await expect(
        rpc.call('init', { kmsEndpoint: 'https://kms.attacker.example', credentials: CREDS, guardCredentialsCiphertext: Uint8Array.of(1) }),
      ).rejects.toMatchObject({ code: 'CONFIG_REJECTED' });
      expect(await rpc.call('health', {})).toMatchObject({ initialized: false });
    } finally {
      rpc.close();
      await server.close();
    }
  });

  test('the compiled-in roots are exactly Amazon Root CA 1–4 and Starfield Services G2, by published fingerprint', () => {
    const fingerprints = AMAZON_ROOTS.map((pem) => new X509Certificate(pem).fingerprint256).sort();
    expect(fingerprints).toEqual(
      [
        // https://www.amazontrust.com/repository/ (SHA-256 fingerprints)
        '8E:CD:E6:88:4F:3D:87:B1:12:5B:A3:1A:C3:FC:B1:3D:70:16:DE:7F:57:CC:90:4F:E1:CB:97:C6:AE:98:19:6E',
        '1B:A5:B2:AA:8C:65:40:1A:82:96:01:18:F8:0B:EC:4F:62:30:4D:83:CE:C4:71:3A:19:C3:9C:01:1E:A4:6D:B4',
        '18:CE:6C:FE:7B:F1:4E:60:B2:E3:47:B8:DF:E8:68:CB:31:D0:2E:BB:3A:DA:27:15:69:F5:03:43:B4:6D:B3:A4',
        'E3:5D:28:41:9E:D0:20:25:CF:A6:90:38:CD:62:39:62:45:8D:A5:C6:95:FB:DE:A3:C2:2B:0B:FB:25:89:70:92',
        '56:8D:69:05:A2:C8:87:08:A4:B3:02:51:90:ED:CF:ED:B1:97:4A:60:6A:13:C6:E5:29:0F:CB:2A:E6:3E:DA:B5',
      ].sort(),
    );
  });
});

describe('a fake KMS that answers GenerateRandom with bytes of its choosing does not choose the seed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostile-kms-'));
  const caDir = join(dir, 'dev-ca');
  const FIXED = new Uint8Array(32).fill(0x42);
  let aws: LocalAws;
  let fake: Server;
  let enclave: RpcServer;
  let rpc: RpcClient;
  let envelopeKey: Uint8Array;
  let randomCalls = 0;

  beforeAll(async () => {
    const service = await createEnclaveService(testStartupConfig(caDir));
    aws = await startLocalAws(dir, caDir);
    const real = new URL(aws.kmsUrl);
    // The attacker's KMS: relays everything to the real one, except GenerateRandom, which it answers itself
    // with FIXED encrypted to the enclave's own RSA key (exactly what an unsigned CiphertextForRecipient allows).
    fake = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.headers['x-amz-target'] === 'TrentService.GenerateRandom') {
          randomCalls++;
          const input = JSON.parse(body.toString()) as { Recipient: { AttestationDocument: string } };
          const doc = verifyAttestationDocument(new Uint8Array(Buffer.from(input.Recipient.AttestationDocument, 'base64')), { root: readDevRoot(caDir) });
          const cms = buildCiphertextForRecipient(Buffer.from(FIXED), createPublicKey({ key: Buffer.from(doc.publicKey!), format: 'der', type: 'spki' }));
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify({ CiphertextForRecipient: Buffer.from(cms).toString('base64') }));
          return;
        }
        const upstream = request({ host: real.hostname, port: real.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        });
        upstream.end(body);
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    enclave = await startEnclaveServer({ listen: 'tcp://127.0.0.1:0', logger: createLogger('error', () => {}), service });
    rpc = await RpcClient.connect(enclave.address);
    await rpc.call('init', aws.initRequest({ kmsEndpoint: `http://127.0.0.1:${(fake.address() as AddressInfo).port}` }));
    envelopeKey = verifyAttestationDocument((await rpc.call('getAttestation', {})).document!, { root: readDevRoot(caDir) }).publicKey!;
  });
  afterAll(async () => {
    rpc.close();
    await enclave.close();
    await new Promise((r) => fake.close(r));
    await aws.close();
  });

  async function phraseOf(walletId: string): Promise<string> {
    const created = await rpc.call('createWallet', {
      userId: 'u',
      walletId,
      pinEnvelope: sealEnvelope(envelopeKey, { purpose: 'create-wallet', sub: 'u', pin: '493817' }),
    });
    const clientKey = x25519.utils.randomSecretKey();
    const recipientPublicKey = x25519.getPublicKey(clientKey);
    const out = await rpc.call('export', {
      userId: 'u',
      walletId,
      sealedBlob: created.sealedBlob,
      recipientPublicKey,
      pinEnvelope: sealEnvelope(envelopeKey, { purpose: 'export', sub: 'u', walletId, digest: toHex(sha256(recipientPublicKey)), pin: '493817' }),
    });
    return (JSON.parse(new TextDecoder().decode(hpkeOpen(clientKey, out.encryptedRecoveryPhrase!, RECOVERY_INFO))) as { mnemonic: string }).mnemonic;
  }

  test('two wallets made while KMS always answers the same bytes have different phrases, neither the attacker’s', async () => {
    const a = await phraseOf('w-a');
    const b = await phraseOf('w-b');
    expect(randomCalls).toBeGreaterThanOrEqual(2); // the fake KMS really answered both (an SDK retry may add one)
    const attackers = entropyToMnemonic(FIXED, wordlist);
    expect(a).not.toBe(b);
    expect(a).not.toBe(attackers);
    expect(b).not.toBe(attackers);
    expect(mnemonicToAccount(a).address).not.toBe(mnemonicToAccount(attackers).address);
  });
});
