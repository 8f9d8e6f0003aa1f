/**
 * What the enclave image may contain. There is no Docker engine here, so the
 * image's file tree is made by the same script the Dockerfile runs
 * (scripts/enclave-image-tree.mjs) and checked against an allow-list: the
 * packages by name, our own files by kind, and nothing the enclave does not
 * run (source maps, declarations, test helpers, development code, build-only
 * packages, the AWS SDK's default credential chain). A new package or a new
 * kind of file fails here until it is added to the lists below with a reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readFileSync(join(repo, 'enclave.Dockerfile'), 'utf8');

/** Every package the image holds, by name (docs/dependencies.md says what each is for). */
const ALLOWED_PACKAGES = [
  '@aws-sdk/client-kms',
  '@aws-sdk/core',
  '@aws-sdk/credential-provider-node', // our stand-in (enclave/image/credential-provider-node), not the SDK's chain
  '@aws-sdk/types',
  '@aws-sdk/xml-builder',
  '@aws/lambda-invoke-store',
  '@enclave-wallet/proto', // a link to proto/
  '@noble/ciphers', // micro-eth-signer's; the enclave's own code does not import it (its AEADs are enclave/src/chacha/)
  '@noble/curves',
  '@noble/hashes',
  '@phc/format',
  '@scure/base',
  '@scure/bip39',
  '@smithy/core',
  '@smithy/node-http-handler',
  '@smithy/signature-v4',
  '@smithy/types',
  'argon2',
  'long',
  'micro-eth-signer',
  'micro-packed',
  'node-gyp-build',
  'node-vsock-linux-x64-gnu',
  'protobufjs',
  'tiny-secp256k1', // libsecp256k1 as WebAssembly: signs EVM digests; every signature is recomputed natively (enclave/src/signing/secp256k1.ts)
  'tslib',
  'uint8array-tools', // tiny-secp256k1's byte helpers
];

/** Our own files: where they may be and what they may be. */
const OWN_FILES: RegExp[] = [
  /^package(-lock)?\.json$/,
  /^(proto|enclave)\/package\.json$/,
  /^proto\/dist\/.+\.js$/,
  /^proto\/generated\/[^/]+\.js$/,
  /^enclave\/dist\/.+\.c?js$/,
  /^enclave\/native\/(nsm|heap)\.node$/,
];

/** Never in the image, anywhere. */
const FORBIDDEN_FILE = /(\.map|\.d\.[cm]?ts|\.tsbuildinfo|\.ts|\.c|\.cc|\.cpp|\.h|\.gyp)$/;
/** Names that exist only for tests or development, and must not reach the image's code. */
const FORBIDDEN_NAMES = ['fromRawKeys', 'seedFromMnemonicSync', 'testStartupConfig', 'class SimulatedNsm', 'DEV root (NOT FOR PRODUCTION)'];

let tree: string;
let files: string[];

function listTree(dir: string): string[] {
  const out: string[] = [];
  const go = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) go(path);
      else out.push(relative(dir, path));
    }
  };
  go(dir);
  return out.sort();
}

const packageOf = (file: string): string | undefined => {
  const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)(?:\/|$)(?!.*node_modules\/)/.exec(file);
  return m?.[1];
};

beforeAll(() => {
  if (!existsSync(join(repo, 'enclave/dist/main.cjs'))) throw new Error('enclave/dist is missing: run `npm run build` first');
  tree = join(mkdtempSync(join(tmpdir(), 'enclave-image-')), 'app');
  const run = spawnSync(process.execPath, [join(repo, 'scripts/enclave-image-tree.mjs'), tree], { encoding: 'utf8' });
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  files = listTree(tree);
});
afterAll(() => rmSync(join(tree, '..'), { recursive: true, force: true }));

test('the Dockerfile makes the image with this script and copies nothing else into it', () => {
  expect(dockerfile).toMatch(/^RUN .*node scripts\/enclave-image-tree\.mjs \/image --vsock-addon \S+/m);
  const copies = [...dockerfile.matchAll(/^COPY --from=build (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]);
  expect(copies).toEqual([['/image', '/app']]);
  expect(dockerfile).not.toMatch(/npm install/);
});

test('the image holds only the allowed packages (by name), each at the place the lock file gives it', () => {
  const names = new Set(files.map(packageOf).filter((n): n is string => n !== undefined));
  expect([...names].sort()).toEqual([...ALLOWED_PACKAGES].sort());
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  for (const file of files.filter((f) => /^node_modules\/(@[^/]+\/)?[^/]+\/package\.json$/.test(f))) {
    const path = file.replace(/\/package\.json$/, '');
    if (path === 'node_modules/@aws-sdk/credential-provider-node') continue;
    expect({ path, version: JSON.parse(readFileSync(join(tree, file), 'utf8')).version }).toEqual({ path, version: lock.packages[path]?.version });
  }
});

test('our own files are compiled JavaScript, the package manifests and our two addons (the NSM binding, the heap trim); none of them is a test or development helper', () => {
  const own = files.filter((f) => !f.startsWith('node_modules/'));
  expect(own.filter((f) => !OWN_FILES.some((re) => re.test(f)))).toEqual([]);
  expect(own).toContain('enclave/dist/main.cjs');
  expect(own).toContain('enclave/native/nsm.node');
  expect(own).toContain('enclave/native/heap.node');
  for (const f of own.filter((f) => /\.c?js$/.test(f))) {
    const text = readFileSync(join(tree, f), 'utf8');
    expect({ f, found: FORBIDDEN_NAMES.filter((name) => text.includes(name)) }).toEqual({ f, found: [] });
  }
  // One compiled file per source file: nothing left over from a deleted module.
  for (const f of own.filter((f) => /^(proto|enclave)\/dist\//.test(f))) {
    const source = f
      .replace('/dist/', '/src/')
      .replace(/\.js$/, '.ts')
      .replace(/\.cjs$/, '.cts');
    expect({ f, source: existsSync(join(repo, source)) }).toEqual({ f, source: true });
  }
});

test('no source maps, declarations, TypeScript, C sources or other platforms’ binaries anywhere', () => {
  expect(files.filter((f) => FORBIDDEN_FILE.test(f))).toEqual([]);
  const native = files.filter((f) => f.endsWith('.node'));
  expect(native).toEqual(
    [
      'enclave/native/heap.node',
      'enclave/native/nsm.node',
      'node_modules/argon2/prebuilds/linux-x64/argon2.glibc.node',
      'node_modules/node-vsock-linux-x64-gnu/node-vsock.linux-x64-gnu.node',
    ].sort(),
  );
});

test('no AWS credential provider: the stand-in for the default chain fails, explicit credentials (what the enclave uses) work, and a KMS call goes out', () => {
  expect(files.filter((f) => /credential-provider-(?!node\/)|token-providers|nested-clients/.test(f))).toEqual([]);
  expect(readFileSync(join(tree, 'node_modules/@aws-sdk/credential-provider-node/index.js'), 'utf8')).toBe(
    readFileSync(join(repo, 'enclave/image/credential-provider-node/index.js'), 'utf8'),
  );
  // And a whole KMS call through the pruned SDK (serialisation, user agent, signing, the Node HTTP handler), to a closed port.
  const probe = `
    const { KMSClient, GenerateRandomCommand } = require('@aws-sdk/client-kms');
    (async () => {
      const credentials = async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 's' });
      const explicit = await new KMSClient({ region: 'eu-west-1', credentials }).config.credentials();
      let chain;
      try { await new KMSClient({ region: 'eu-west-1' }).config.credentials(); chain = 'resolved'; } catch (err) { chain = err.message; }
      let call;
      try {
        await new KMSClient({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:9', credentials, maxAttempts: 1 }).send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
        call = 'answered';
      } catch (err) { call = err.code ?? err.name; }
      console.log(JSON.stringify({ explicit: explicit.accessKeyId, chain, call }));
    })();`;
  const run = spawnSync(process.execPath, ['-e', probe], { cwd: join(tree, 'enclave'), encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  expect(JSON.parse(run.stdout)).toEqual({
    explicit: 'AKIDEXAMPLE',
    chain: 'the enclave has no default AWS credential chain: credentials come from the host at init',
    call: 'ECONNREFUSED',
  });
});

test('the pruned tree runs: the enclave starts from it and stops only at the missing /dev/nsm', () => {
  expect(lstatSync(join(tree, 'node_modules/@enclave-wallet/proto')).isSymbolicLink()).toBe(true);
  const run = spawnSync(process.execPath, [join(tree, 'enclave/dist/main.cjs')], {
    cwd: tree,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      NODE_NO_WARNINGS: '1',
      ENCLAVE_PLATFORM: 'nitro',
      ENCLAVE_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      ENCLAVE_GUARD_TABLE: 'arn:aws:dynamodb:eu-west-1:111122223333:table/enclave-wallet-guard',
      ENCLAVE_LISTEN: 'tcp://127.0.0.1:0',
    },
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/"event":"start_failed","reason":"nitro mode needs \/dev\/nsm/);
});

test('every file time is zero (the same commit gives the same layers)', () => {
  for (const f of files) expect({ f, mtime: lstatSync(join(tree, f)).mtimeMs }).toEqual({ f, mtime: 0 });
});
