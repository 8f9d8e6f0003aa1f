/**
 * docs/operations.md's commands that need no AWS account, run as written (issue 23 §3): the KMS policy for two
 * images (two `kms-policy` outputs merged with jq, in a folder of its own, the measurement files being the test's),
 * the new HOST_SIGNING_KEY (loaded by the host's token service), and `npm run drill:restore` (run by
 * test/e2e/restore-drill.test.ts). The AWS commands are not run here (no account).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TokenService } from '@enclave-wallet/host';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const doc = readFileSync(join(repo, 'docs/operations.md'), 'utf8');
const blocks = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/^ {3}/gm, ''));
const block = (first: string): string => {
  const found = blocks.find((b) => b.startsWith(first));
  expect(found).toBeDefined();
  return found!;
};
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ew-ops-'));
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules')); // npx finds the workspace's enclave-wallet command
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the KMS policy for two images: each image a statement of its own, both PCR0s printed', () => {
  mkdirSync(join(dir, 'build'));
  const measurements = readFileSync(join(repo, 'nitro/testdata/build-enclave-output.json'), 'utf8');
  const oldPcr0 = (JSON.parse(measurements) as { Measurements: { PCR0: string } }).Measurements.PCR0;
  const newPcr0 = 'ab'.repeat(48);
  writeFileSync(join(dir, 'build/measurements-OLD.json'), measurements);
  writeFileSync(join(dir, 'build/measurements-NEW.json'), measurements.replace(oldPcr0, newPcr0));
  const run = spawnSync('bash', ['-euo', 'pipefail', '-c', block('OLD=build/measurements-OLD.json')], { cwd: dir, encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.stdout.trim().split('\n')).toEqual([oldPcr0, newPcr0]);
  const both = JSON.parse(readFileSync(join(dir, 'policy-both.json'), 'utf8')) as {
    keyPolicy: { Statement: Array<{ Sid: string; Condition?: Record<string, Record<string, string>> }> };
    instanceRolePolicy: { Statement: Array<{ Sid: string; Condition?: Record<string, Record<string, string>> }> };
  };
  const pcr0Of = (s: { Condition?: Record<string, Record<string, string>> } | undefined): string | undefined =>
    Object.values(s?.Condition ?? {}).find((c) => c['kms:RecipientAttestation:ImageSha384'])?.['kms:RecipientAttestation:ImageSha384'];
  const key = Object.fromEntries(both.keyPolicy.Statement.map((s) => [s.Sid, s]));
  expect(pcr0Of(key.EnclaveUseOnlyWithAttestation)).toBe(oldPcr0);
  expect(pcr0Of(key.EnclaveUseOnlyWithAttestationNext)).toBe(newPcr0);
  const role = Object.fromEntries(both.instanceRolePolicy.Statement.map((s) => [s.Sid, s]));
  expect(pcr0Of(role.AttestedRandom)).toBe(oldPcr0);
  expect(pcr0Of(role.AttestedRandomNext)).toBe(newPcr0);
  // Step 1's files: the two policies as AWS takes them.
  const put = block('jq .keyPolicy policy-both.json')
    .split('\n')
    .filter((l) => l.startsWith('jq '))
    .join('\n');
  expect(spawnSync('bash', ['-euo', 'pipefail', '-c', put], { cwd: dir, encoding: 'utf8' }).status).toBe(0);
  expect(JSON.parse(readFileSync(join(dir, 'key-policy.json'), 'utf8'))).toEqual(both.keyPolicy);
  expect(JSON.parse(readFileSync(join(dir, 'role-policy.json'), 'utf8'))).toEqual(both.instanceRolePolicy);
});

test('a new HOST_SIGNING_KEY: an ES256 private JWK the host signs access tokens with', async () => {
  const run = spawnSync('bash', ['-euo', 'pipefail', '-c', block('node --input-type=module')], { cwd: dir, encoding: 'utf8' });
  expect(run.stderr).toBe('');
  const file = join(dir, 'host-signing-key.new.json');
  try {
    const jwk = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', d: expect.any(String), kid: expect.any(String) });
    const store = {} as Parameters<typeof TokenService.create>[2]; // not used to load the key
    const tokens = await TokenService.create(jwk, 'https://wallet.example.com', store);
    expect(tokens).toBeInstanceOf(TokenService);
  } finally {
    rmSync(file, { force: true });
  }
});

test('npm run drill:restore is the script the doc describes', () => {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  expect(pkg.scripts['drill:restore']).toBe('npm run build && node scripts/restore-drill.mjs');
  expect(block('npm run drill:restore').trim()).toBe('npm run drill:restore');
});
