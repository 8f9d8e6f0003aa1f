/**
 * The SDK installs anywhere: `npm pack` of client/ gives a tarball that a project outside this repository installs
 * with only the registry's packages (viem its one peer); a sample app there (test/fixtures/sdk-app) that uses viem,
 * ethers v6 and @solana/kit type-checks under `tsc --strict` with `moduleResolution` bundler and node16, pins the
 * stack's dev root by the fingerprint the launcher prints, and runs against the stack and anvil: its signatures
 * and transactions are checked here, independently. The project installs with `npm ci --offline`: its lock is the
 * part of this repository's lock its dependencies resolve to (the same versions, which `npm ci` of the repository
 * put in npm’s cache), so this test reaches no registry (unless that cache lost a tarball: then it falls back to
 * `--prefer-offline`).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPublicClient, http, parseEther, verifyMessage, type Hex } from 'viem';
import { foundry } from 'viem/chains';
import { startAnvil, type Anvil } from '../support/anvil.js';
import { startStack, type Stack } from '../support/stack.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const fixture = join(repo, 'test/fixtures/sdk-app');
/** The sample's registry dependencies, at the versions of the repository's lock. */
const DEPENDENCIES = ['viem', 'ethers', '@solana/kit'];
// TypeScript itself is the repository's (the same pinned version): the sample's node_modules resolve every import,
// and leaving its 24 MB out keeps the install short.
const DEV_DEPENDENCIES = ['@types/node'];

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs a command to its end. npm's own variables of an outer `npm test` are left out, but for its cache. */
function run(command: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_') || k.toLowerCase() === 'npm_config_cache'));
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/**
 * The sample project's lock: the SDK from its tarball, and every entry of the repository's lock that the sample's
 * dependencies and the SDK's resolve to (Node's lookup, from the same folders), at the same paths.
 */
/** The registry npm is set up with (its tarballs are cached under their address there). */
let registry = 'https://registry.npmjs.org/';

function sampleLock(tarball: string, sdk: { dependencies: Record<string, string>; peerDependencies: Record<string, string> }): object {
  const root = (JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }).packages;
  const lookup = (from: string, name: string): string | undefined => {
    for (let base = from; ;) {
      const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (root[candidate]) return candidate;
      if (!base) return undefined;
      const i = base.lastIndexOf('node_modules/');
      base = i <= 0 ? '' : base.slice(0, i - 1);
    }
  };
  const packages: Record<string, LockEntry> = {};
  const visit = (from: string, name: string, optional: boolean): void => {
    const path = lookup(from, name);
    if (!path) {
      if (optional) return;
      throw new Error(`${name} (needed from ${from || 'the root'}) is not in package-lock.json`);
    }
    const entry = root[path]!;
    if (entry.link) throw new Error(`${name} resolves to a workspace package (${path}): the SDK may depend on none`);
    // The SDK's own dependencies nested under client/ sit under the SDK in the sample.
    const at = path.startsWith('client/') ? `node_modules/@enclave-wallet/client/${path.slice('client/'.length)}` : path;
    if (packages[at]) return;
    packages[at] = {
      ...Object.fromEntries(Object.entries(entry).filter(([field]) => !['dev', 'devOptional', 'peer'].includes(field))),
      // The repository's lock leaves the registry's address out; with it and the integrity, npm reads the tarball from its cache.
      resolved: entry.resolved ?? `${registry}${name}/-/${name.split('/').pop()}-${entry.version}.tgz`,
    };
    for (const dep of Object.keys(entry.dependencies ?? {})) visit(path, dep, false);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) visit(path, dep, true);
    for (const dep of Object.keys(entry.peerDependencies ?? {})) visit(path, dep, entry.peerDependenciesMeta?.[dep]?.optional === true);
  };
  for (const name of [...DEPENDENCIES, ...DEV_DEPENDENCIES]) visit('', name, false);
  for (const name of Object.keys(sdk.dependencies)) visit('client', name, false);
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  packages['node_modules/@enclave-wallet/client'] = {
    version: '0.1.0',
    resolved: `file:${tarball.split('/').pop()}`,
    integrity,
    license: 'Apache-2.0',
    dependencies: sdk.dependencies,
    peerDependencies: sdk.peerDependencies,
  };
  return { name: 'sample-app', lockfileVersion: 3, requires: true, packages: { '': manifest(tarball), ...packages } };
}

const version = (name: string): string => {
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  return lock.packages[`node_modules/${name}`]!.version!;
};
const manifest = (tarball: string): { name: string; dependencies: Record<string, string>; devDependencies: Record<string, string> } => ({
  name: 'sample-app',
  dependencies: { '@enclave-wallet/client': `file:${tarball.split('/').pop()}`, ...Object.fromEntries(DEPENDENCIES.map((n) => [n, version(n)])) },
  devDependencies: Object.fromEntries(DEV_DEPENDENCIES.map((n) => [n, version(n)])),
});

let dir: string;
let tarball: string;
let packed: string[];
let install: Run;
let stack: Stack;
let anvil: Anvil;

beforeAll(async () => {
  if (!existsSync(join(repo, 'client/dist/index.d.ts')) || !existsSync(join(repo, 'client/dist/browser/enclave-wallet.js'))) {
    throw new Error('client/dist is not built: run `npm run build` first (npm test does)');
  }
  dir = mkdtempSync(join(tmpdir(), 'sdk-app-'));
  const stackStarted = Promise.all([startAnvil(), startStack()]);
  // `npm pack` as a developer runs it, in client/ (the repository's .npmrc turns scripts off: nothing is built here).
  const pack = await run('npm', ['pack', '--json', '--pack-destination', dir], join(repo, 'client'));
  if (pack.code !== 0) throw new Error(`npm pack failed: ${pack.err}`);
  const [info] = JSON.parse(pack.out) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(dir, info!.filename);
  packed = info!.files.map((f) => f.path);
  registry = (await run('npm', ['config', 'get', 'registry'], dir)).out.trim().replace(/\/?$/, '/');
  const sdk = JSON.parse(readFileSync(join(repo, 'client/package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...manifest(tarball), private: true, type: 'module' }, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(sampleLock(tarball, sdk), null, 2));
  for (const file of readdirSync(fixture)) copyFileSync(join(fixture, file), join(dir, file));
  install = await run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], dir);
  // A cache that lost a tarball (cleaned by hand): the registry, as `npm ci` of the repository itself would.
  if (install.code !== 0 && /ENOTCACHED/.test(install.err))
    install = await run('npm', ['ci', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], dir);
  [anvil, stack] = await stackStarted;
}, 180_000);

afterAll(async () => {
  await stack?.close();
  anvil?.stop();
  if (dir && !process.env.KEEP_SDK_APP) rmSync(dir, { recursive: true, force: true });
});

test('npm pack gives the SDK alone, and it installs from npm’s cache with no workspace package', () => {
  expect(packed.filter((p) => !/^(dist|src)\//.test(p)).sort()).toEqual(['README.md', 'package.json']);
  expect({ code: install.code, err: install.code === 0 ? '' : install.err.slice(-3000) }).toEqual({ code: 0, err: '' });
  const installed = join(dir, 'node_modules');
  expect(existsSync(join(installed, '@enclave-wallet/client/dist/index.js'))).toBe(true);
  expect(readdirSync(join(installed, '@enclave-wallet'))).toEqual(['client']);
  expect(existsSync(join(installed, 'protobufjs'))).toBe(false);
  // Every package the SDK's modules and declarations import is one it depends on, or its peer (the browser
  // builds under dist/browser are bundles: viem their only import, test at client/test/browser-build.test.ts).
  const sdk = JSON.parse(readFileSync(join(installed, '@enclave-wallet/client/package.json'), 'utf8')) as Record<string, Record<string, string>>;
  const allowed = new Set([...Object.keys(sdk.dependencies!), ...Object.keys(sdk.peerDependencies!)]);
  const imported = new Set<string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        if (name !== 'browser') walk(p);
      } else if (name.endsWith('.d.ts') || name.endsWith('.js')) {
        const text = readFileSync(p, 'utf8');
        for (const [, from, dynamic] of text.matchAll(/^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
          const spec = from ?? dynamic!;
          if (!spec.startsWith('.')) imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
        }
      }
    }
  };
  walk(join(installed, '@enclave-wallet/client/dist'));
  expect(imported.has('viem')).toBe(true); // the scan sees imports
  expect([...imported].filter((name) => !allowed.has(name) && !name.startsWith('node:'))).toEqual([]);
});

test('the packed README links only to files in the package (npm shows it with no repository beside it)', () => {
  /** The relative link targets of Markdown text, less their fragments. */
  const relativeLinks = (text: string): string[] =>
    [...text.matchAll(/\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)]
      .map((m) => m[1]!)
      .filter((href) => !/^(?:[a-z][a-z0-9+.-]*:|#)/i.test(href))
      .map((href) => posix.normalize(decodeURIComponent(href.split('#')[0]!)));
  // The scan itself, on the kind of link this check is for.
  expect(relativeLinks('see [the frame](../docs/frame.md#messages), [viem](https://viem.sh) and [below](#api)')).toEqual(['../docs/frame.md']);
  const readme = readFileSync(join(repo, 'client/README.md'), 'utf8');
  expect(relativeLinks(readme).filter((file) => !packed.includes(file))).toEqual([]);
});

test.each(['bundler', 'node16'])(
  'the sample app type-checks under tsc --strict with moduleResolution %s',
  async (resolution) => {
    expect(install.code).toBe(0);
    const tsc = await run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', `tsconfig.${resolution}.json`], dir);
    expect({ code: tsc.code, out: tsc.out }).toEqual({ code: 0, out: '' });
  },
  120_000,
);

test('client/README.md: its quick start and its local-stack example type-check as written against the packed SDK (--strict)', async () => {
  expect(install.code).toBe(0);
  const readme = readFileSync(join(repo, 'client/README.md'), 'utf8');
  /** The first TypeScript block after a heading, as the README shows it. */
  const block = (heading: string): string => {
    const at = readme.indexOf(`\n${heading}\n`);
    expect([heading, at > -1]).toEqual([heading, true]);
    return /```ts\n([\s\S]*?)```/.exec(readme.slice(at))![1]!;
  };
  const files = { 'readme-five-minutes.ts': block('## Five minutes'), 'readme-local-stack.ts': block('### Against the local stack, from any project') };
  for (const [name, text] of Object.entries(files)) {
    expect(text).toMatch(/^import .* from '@enclave-wallet\/client';$/m); // a whole module, not a fragment
    writeFileSync(join(dir, name), text);
  }
  writeFileSync(
    join(dir, 'tsconfig.readme.json'),
    JSON.stringify({ extends: './tsconfig.node16.json', compilerOptions: { noEmit: true }, files: Object.keys(files) }),
  );
  const tsc = await run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.readme.json'], dir);
  expect({ code: tsc.code, out: tsc.out }).toEqual({ code: 0, out: '' });
  // The local-stack example is also JavaScript: pasted into an .mjs, Node reads it (no TypeScript-only syntax).
  writeFileSync(join(dir, 'readme-local-stack.mjs'), files['readme-local-stack.ts']);
  const js = await run(process.execPath, ['--check', 'readme-local-stack.mjs'], dir);
  expect({ code: js.code, err: js.err }).toEqual({ code: 0, err: '' });
}, 120_000);

test('the sample app runs against the stack: viem, ethers and @solana/kit sign with the wallet, and anvil mines its sends', async () => {
  expect(existsSync(join(dir, 'out/app.js'))).toBe(true); // emitted by the node16 check above
  const devRootSha256 = createHash('sha256')
    .update(readFileSync(join(stack.caDir, 'root.der')))
    .digest('hex');
  const app = await run(process.execPath, ['out/app.js'], dir, {
    WALLET_URL: stack.url,
    DEV_ROOT_SHA256: devRootSha256,
    ID_TOKEN: await stack.issuer.sign({ email: 'sample-app@example.com' }),
    EVM_RPC: anvil.rpc,
  });
  expect({ code: app.code, err: app.err }).toEqual({ code: 0, err: '' });
  const r = JSON.parse(app.out) as Record<string, string | boolean | string[]>;
  // The package's `./cbor` export resolved and ran: { 1: "enclave" } is a1 01 67 "enclave" (RFC 8949).
  expect(r.cbor).toBe('a10167' + Buffer.from('enclave').toString('hex'));
  const evm = r.evmAddress as Hex;
  expect(r.ethersAddress).toBe(evm);
  expect(r.recoveryCodeShown).toBe(true);
  // Checked here with this repository's viem and noble, not the app's word.
  expect(await verifyMessage({ address: evm, message: 'hello from viem', signature: r.viemSignature as Hex })).toBe(true);
  expect(await verifyMessage({ address: evm, message: 'hello from ethers', signature: r.ethersSignature as Hex })).toBe(true);
  const chain = createPublicClient({ chain: foundry, transport: http(anvil.rpc) });
  for (const [hash, value] of [
    [r.viemTransaction, parseEther('0.001')],
    [r.ethersTransaction, parseEther('0.002')],
  ] as const) {
    const receipt = await chain.getTransactionReceipt({ hash: hash as Hex });
    const tx = await chain.getTransaction({ hash: hash as Hex });
    expect({ status: receipt.status, from: receipt.from, value: tx.value }).toEqual({ status: 'success', from: evm.toLowerCase(), value });
  }
  const publicKey = Buffer.from(r.solanaPublicKey as string, 'hex');
  const hexBytes = (field: string): Uint8Array => new Uint8Array(Buffer.from(r[field] as string, 'hex'));
  expect(ed25519.verify(hexBytes('kitMessageSignature'), new TextEncoder().encode('hello from kit'), publicKey)).toBe(true);
  expect(ed25519.verify(hexBytes('kitTransactionSignature'), hexBytes('kitTransactionMessage'), publicKey)).toBe(true);
  expect([r.kitMessageVerified, r.kitTransactionVerified]).toEqual([true, true]);
  // One PIN per signature, each asked with what the SDK decoded: 2 viem, 2 ethers, 2 Solana.
  expect((r.approvals as string[]).length).toBe(6);
}, 60_000);
