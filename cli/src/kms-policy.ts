/**
 * `enclave-wallet kms-policy --measurements FILE [--pcr 0,1,2,8] [--account ID]
 * [--role-arn ARN] [--admin-arn ARN]` (SPEC §8): prints the KMS key
 * policy for the enclave image whose `nitro-cli build-enclave` output is FILE,
 * and the IAM statement the instance role needs for GenerateRandom.
 *
 * The key policy separates administration (the admin principal: manage the
 * key, never use it) from use (the instance role: Decrypt and GenerateDataKey
 * only with a Recipient attestation document matching the image's PCRs). No
 * statement lets anyone obtain a plaintext data key without attestation:
 * KMS then returns only CiphertextForRecipient, which the host cannot open.
 */
import { readFileSync } from 'node:fs';
import { UsageError, type Io } from './io.js';

export const KMS_POLICY_USAGE = `usage: enclave-wallet kms-policy --measurements FILE [--pcr 0,1,2,8] [--account ID] [--role-arn ARN] [--admin-arn ARN] [--region REGION]

Prints { "keyPolicy", "instanceRolePolicy" } for the enclave image measured in FILE
(the JSON that nitro-cli build-enclave prints). By default the policy requires PCR0
(kms:RecipientAttestation:ImageSha384); --pcr adds PCR1, PCR2 and PCR8 conditions.`;

const PCR = /^[0-9a-f]{96}$/;

export interface Measurements {
  pcrs: Record<number, string>;
}

/** Reads `nitro-cli build-enclave` output: { "Measurements": { "HashAlgorithm", "PCR0", "PCR1", "PCR2", "PCR8"? } }. */
export function parseMeasurements(text: string): Measurements {
  let json: { Measurements?: Record<string, unknown> };
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    throw new UsageError('the measurements file is not JSON');
  }
  const m = json.Measurements;
  if (!m || typeof m !== 'object') throw new UsageError('the measurements file has no "Measurements" object (expected nitro-cli build-enclave output)');
  if (typeof m.HashAlgorithm === 'string' && !/sha384/i.test(m.HashAlgorithm)) throw new UsageError('measurements must be SHA-384');
  const pcrs: Record<number, string> = {};
  for (const [k, v] of Object.entries(m)) {
    const idx = /^PCR(\d+)$/.exec(k);
    if (!idx) continue;
    const value = String(v).toLowerCase();
    if (!PCR.test(value)) throw new UsageError(`${k} is not 48 bytes of hex`);
    pcrs[Number(idx[1])] = value;
  }
  if (!pcrs[0]) throw new UsageError('the measurements have no PCR0');
  return { pcrs };
}

export function buildKeyPolicy(options: { pcrs: Record<number, string>; use: number[]; account: string; roleArn: string; adminArn: string }): { keyPolicy: unknown; instanceRolePolicy: unknown } {
  const condition: Record<string, string> = { 'kms:RecipientAttestation:ImageSha384': options.pcrs[0]! };
  for (const n of options.use) {
    if (n === 0) continue;
    const value = options.pcrs[n];
    if (!value) throw new UsageError(`PCR${n} was asked for but is not in the measurements`);
    condition[`kms:RecipientAttestation:PCR${n}`] = value;
  }
  const keyPolicy = {
    Version: '2012-10-17',
    Id: 'enclave-wallet-key-policy',
    Statement: [
      {
        Sid: 'KeyAdministrationNoUse',
        Effect: 'Allow',
        Principal: { AWS: options.adminArn },
        Action: ['kms:Create*', 'kms:Describe*', 'kms:Enable*', 'kms:List*', 'kms:Put*', 'kms:Update*', 'kms:Revoke*', 'kms:Disable*', 'kms:Get*', 'kms:Delete*', 'kms:TagResource', 'kms:UntagResource', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion'],
        Resource: '*',
      },
      {
        Sid: 'EnclaveUseOnlyWithAttestation',
        Effect: 'Allow',
        Principal: { AWS: options.roleArn },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: '*',
        Condition: { StringEqualsIgnoreCase: condition },
      },
      {
        Sid: 'InstanceRoleMayDescribe',
        Effect: 'Allow',
        Principal: { AWS: options.roleArn },
        Action: ['kms:DescribeKey'],
        Resource: '*',
      },
    ],
  };
  const instanceRolePolicy = {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'AttestedRandom', Effect: 'Allow', Action: 'kms:GenerateRandom', Resource: '*', Condition: { StringEqualsIgnoreCase: condition } },
      { Sid: 'WalletTable', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:DescribeTable'], Resource: `arn:aws:dynamodb:*:${options.account}:table/enclave-wallet` },
    ],
  };
  return { keyPolicy, instanceRolePolicy };
}

export async function kmsPolicyCommand(args: string[], io: Io): Promise<number> {
  let file: string | undefined;
  let use = [0];
  let account = '111122223333';
  let roleArn: string | undefined;
  let adminArn: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === '--measurements') file = value();
    else if (arg === '--pcr') {
      const v = value();
      if (!/^\d{1,2}(,\d{1,2})*$/.test(v)) throw new UsageError('--pcr takes a comma-separated list such as 0,1,2,8');
      use = [...new Set([0, ...v.split(',').map(Number)])];
    } else if (arg === '--account') {
      account = value();
      if (!/^\d{12}$/.test(account)) throw new UsageError('--account takes a 12-digit AWS account id');
    } else if (arg === '--role-arn') roleArn = value();
    else if (arg === '--admin-arn') adminArn = value();
    else if (arg === '--help' || arg === '-h') {
      io.stdout(KMS_POLICY_USAGE);
      return 0;
    } else throw new UsageError(`unknown argument ${arg}`);
  }
  if (!file) throw new UsageError('--measurements FILE is required');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const { pcrs } = parseMeasurements(text);
  const out = buildKeyPolicy({
    pcrs,
    use,
    account,
    roleArn: roleArn ?? `arn:aws:iam::${account}:role/enclave-wallet-instance`,
    adminArn: adminArn ?? `arn:aws:iam::${account}:role/enclave-wallet-key-admin`,
  });
  io.stdout(JSON.stringify(out, null, 2));
  return 0;
}
