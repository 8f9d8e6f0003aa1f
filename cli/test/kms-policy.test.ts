/**
 * The key policy generator: its output for a nitro-cli measurements file, and
 * that the policy, enforced by the local KMS, releases data keys only to a
 * Recipient whose PCRs match, never to the role without attestation, and never
 * to the administrator.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAllowed, type KeyPolicy } from '@enclave-wallet/devtools';
import { main, type Io } from '../src/index.js';

const measurements = fileURLToPath(new URL('../../nitro/testdata/build-enclave-output.json', import.meta.url));
const PCR0 = '9baef83909784e4d2cb84466c02931bb8125e948b62029029e80bfa1698bfd7069408e4ab20d1c99c859e8f774cce0ff';
const PCR1 = '4b4d5b3661b3efc12920900c80e126e4ce783c522de6c02a2a5bf7af3a2b9327b86776f188e4be1c1c404a129dbda493';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdout: (l) => out.push(l), stderr: (l) => err.push(l), readStdin: async () => Buffer.alloc(0), env: {}, cwd: process.cwd() };
  return { code: await main(args, io), out: out.join('\n'), err: err.join('\n') };
}

test('PCR0 only by default: Decrypt and GenerateDataKey need an attested Recipient with that image', async () => {
  const { code, out } = await run(['kms-policy', '--measurements', measurements, '--account', '123456789012']);
  expect(code).toBe(0);
  const { keyPolicy, instanceRolePolicy } = JSON.parse(out) as { keyPolicy: KeyPolicy; instanceRolePolicy: KeyPolicy };
  const use = keyPolicy.Statement.find((s) => s.Sid === 'EnclaveUseOnlyWithAttestation')!;
  expect(use.Principal).toEqual({ AWS: 'arn:aws:iam::123456789012:role/enclave-wallet-instance' });
  expect(use.Condition).toEqual({ StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': PCR0 } });
  expect(isAllowed(keyPolicy, 'kms:Decrypt', { 'kms:RecipientAttestation:ImageSha384': PCR0 })).toBe(true);
  expect(isAllowed(keyPolicy, 'kms:GenerateDataKey', { 'kms:RecipientAttestation:ImageSha384': PCR0 })).toBe(true);
  expect(isAllowed(keyPolicy, 'kms:Decrypt', {})).toBe(false);
  expect(isAllowed(keyPolicy, 'kms:Decrypt', { 'kms:RecipientAttestation:ImageSha384': '00'.repeat(48) })).toBe(false);
  expect(isAllowed(keyPolicy, 'kms:Encrypt', { 'kms:RecipientAttestation:ImageSha384': PCR0 })).toBe(false);
  // The administrator manages the key but no statement grants it a cryptographic use.
  const admin = keyPolicy.Statement.find((s) => s.Sid === 'KeyAdministrationNoUse')!;
  expect(isAllowed({ Statement: [admin] }, 'kms:Decrypt', { 'kms:RecipientAttestation:ImageSha384': PCR0 })).toBe(false);
  expect(isAllowed({ Statement: [admin] }, 'kms:PutKeyPolicy', {})).toBe(true);
  expect(isAllowed(instanceRolePolicy, 'kms:GenerateRandom', { 'kms:RecipientAttestation:ImageSha384': PCR0 })).toBe(true);
  expect(isAllowed(instanceRolePolicy, 'kms:GenerateRandom', {})).toBe(false);
  // No grants for the admin: a grant would be a way around this policy.
  expect(isAllowed({ Statement: [admin] }, 'kms:CreateGrant', {})).toBe(false);
});

test('the admin may encrypt only the guard credentials; only an attested enclave decrypts them; the host may not write the guard', async () => {
  const guardTable = 'arn:aws:dynamodb:eu-west-1:123456789012:table/enclave-wallet-guard';
  const { out } = await run(['kms-policy', '--measurements', measurements, '--account', '123456789012', '--guard-table-arn', guardTable]);
  const { keyPolicy, instanceRolePolicy, guardPolicy } = JSON.parse(out) as {
    keyPolicy: KeyPolicy;
    instanceRolePolicy: KeyPolicy & { Statement: Array<{ Resource?: unknown }> };
    guardPolicy: KeyPolicy & { Statement: Array<{ Resource?: unknown }> };
  };
  const admin = { Statement: keyPolicy.Statement.filter((s) => (s.Principal as { AWS: string }).AWS.endsWith('key-admin')) };
  expect(isAllowed(admin, 'kms:Encrypt', { 'kms:EncryptionContext:enclave-wallet:purpose': 'guard-credentials' })).toBe(true);
  expect(isAllowed(admin, 'kms:Encrypt', { 'kms:EncryptionContext:enclave-wallet:wallet-id': 'w' })).toBe(false);
  expect(isAllowed(admin, 'kms:Decrypt', { 'kms:EncryptionContext:enclave-wallet:purpose': 'guard-credentials' })).toBe(false);
  expect(isAllowed(keyPolicy, 'kms:Decrypt', { 'kms:EncryptionContext:enclave-wallet:purpose': 'guard-credentials' })).toBe(false);
  const deny = instanceRolePolicy.Statement.find((s) => s.Sid === 'NeverWriteTheGuard')!;
  expect(deny.Effect).toBe('Deny');
  expect(deny.Resource).toContain(guardTable);
  expect(isAllowed(instanceRolePolicy, 'dynamodb:UpdateItem', {})).toBe(false);
  expect(guardPolicy.Statement[0]!.Resource).toBe(guardTable);
  expect((await run(['kms-policy', '--measurements', measurements, '--guard-table-arn', 'enclave-wallet-guard'])).code).toBe(2);
});

test('--pcr adds PCR1 and PCR2 conditions; a PCR missing from the file is an error', async () => {
  const { out } = await run(['kms-policy', '--measurements', measurements, '--pcr', '0,1,2']);
  const policy = JSON.parse(out).keyPolicy as KeyPolicy;
  const cond = policy.Statement.find((s) => s.Sid === 'EnclaveUseOnlyWithAttestation')!.Condition!.StringEqualsIgnoreCase!;
  expect(Object.keys(cond).sort()).toEqual(['kms:RecipientAttestation:ImageSha384', 'kms:RecipientAttestation:PCR1', 'kms:RecipientAttestation:PCR2']);
  expect(isAllowed(policy, 'kms:Decrypt', { 'kms:RecipientAttestation:ImageSha384': PCR0, 'kms:RecipientAttestation:PCR1': PCR1 })).toBe(false);
  expect((await run(['kms-policy', '--measurements', measurements, '--pcr', '8'])).code).toBe(2);
});

test('bad input is a usage error (exit 2)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pol-'));
  writeFileSync(join(dir, 'bad.json'), '{"Measurements":{"PCR0":"zz"}}');
  for (const args of [
    ['kms-policy'],
    ['kms-policy', '--measurements', join(dir, 'nope.json')],
    ['kms-policy', '--measurements', join(dir, 'bad.json')],
    ['kms-policy', '--measurements', measurements, '--account', '12'],
  ]) {
    expect((await run(args)).code).toBe(2);
  }
});

test("the instance role may send every request the host's storage code sends to the wallet table", async () => {
  const { out } = await run(['kms-policy', '--measurements', measurements, '--account', '123456789012']);
  const { instanceRolePolicy } = JSON.parse(out) as { instanceRolePolicy: { Statement: Array<{ Sid?: string; Action?: string[] }> } };
  const allowed = instanceRolePolicy.Statement.find((s) => s.Sid === 'WalletTable')!.Action!;
  const storage = fileURLToPath(new URL('../../host/src/storage/', import.meta.url));
  const sent = new Set<string>();
  for (const file of readdirSync(storage).filter((f) => f.endsWith('.ts')))
    for (const [, command] of readFileSync(join(storage, file), 'utf8').matchAll(/new (\w+)Command\(/g)) sent.add(`dynamodb:${command}`);
  sent.delete('dynamodb:CreateTable'); // the local stack's table only: production's is made by scripts/create-table.mjs
  expect(sent.size).toBeGreaterThanOrEqual(6);
  expect([...sent].filter((action) => !allowed.includes(action))).toEqual([]);
});
