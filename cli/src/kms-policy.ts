/**
 * `enclave-wallet kms-policy --measurements FILE [--pcr 0,1,2,8] [--account ID]
 * [--role-arn ARN] [--admin-arn ARN] [--guard-table-arn ARN]` (SPEC §8):
 * prints the KMS key policy for the enclave image whose `nitro-cli
 * build-enclave` output is FILE, the instance role's IAM policy, and the IAM
 * policy of the guard's own principal.
 *
 * The key policy separates administration (the admin principal: manage the
 * key, never use it, except encrypting the guard's credentials) from use (the
 * instance role: Decrypt and GenerateDataKey only with a Recipient attestation
 * document matching the image's PCRs). No statement lets anyone obtain a
 * plaintext data key, or the guard's credentials, without attestation: KMS
 * then returns only CiphertextForRecipient, which the host cannot open. The
 * admin gets no kms:CreateGrant (a grant is a way around the policy). The
 * instance role is denied every write to the guard table: only the guard
 * principal, whose keys only the enclave can decrypt, may write it.
 */
import { readFileSync } from 'node:fs';
import { GUARD_CREDENTIALS_PURPOSE } from '@enclave-wallet/proto';
import { UsageError, type Io, eachArg } from './io.js';

export const KMS_POLICY_USAGE = `usage: enclave-wallet kms-policy --measurements FILE [--pcr 0,1,2,8] [--account ID] [--role-arn ARN] [--admin-arn ARN] [--guard-table-arn ARN]

Prints { "keyPolicy", "instanceRolePolicy", "guardPolicy" } for the enclave image measured
in FILE (the JSON that nitro-cli build-enclave prints). By default the policy requires PCR0
(kms:RecipientAttestation:ImageSha384); --pcr adds PCR1, PCR2 and PCR8 conditions.
guardPolicy is for the IAM user whose access key the enclave uses for the guard table
(docs/guard.md); the instance role is denied writes to that table.`;

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

export function buildKeyPolicy(options: {
  pcrs: Record<number, string>;
  use: number[];
  account: string;
  roleArn: string;
  adminArn: string;
  guardTableArn: string;
}): { keyPolicy: unknown; instanceRolePolicy: unknown; guardPolicy: unknown } {
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
        Action: [
          'kms:CreateAlias',
          'kms:Describe*',
          'kms:Enable*',
          'kms:List*',
          'kms:Put*',
          'kms:Update*',
          'kms:Revoke*',
          'kms:Disable*',
          'kms:Get*',
          'kms:Delete*',
          'kms:TagResource',
          'kms:UntagResource',
          'kms:ScheduleKeyDeletion',
          'kms:CancelKeyDeletion',
        ],
        Resource: '*',
      },
      {
        Sid: 'AdminEncryptsGuardCredentialsOnly',
        Effect: 'Allow',
        Principal: { AWS: options.adminArn },
        Action: ['kms:Encrypt'],
        Resource: '*',
        Condition: { StringEquals: { 'kms:EncryptionContext:enclave-wallet:purpose': GUARD_CREDENTIALS_PURPOSE } },
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
      {
        Sid: 'WalletTable',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:DescribeTable'],
        Resource: `arn:aws:dynamodb:*:${options.account}:table/enclave-wallet`,
      },
      {
        Sid: 'NeverWriteTheGuard',
        Effect: 'Deny',
        Action: [
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:TransactWriteItems',
          'dynamodb:DeleteTable',
          'dynamodb:UpdateTable',
          'dynamodb:RestoreTableToPointInTime',
          'dynamodb:RestoreTableFromBackup',
          'dynamodb:ImportTable',
        ],
        Resource: [options.guardTableArn, `${options.guardTableArn}/*`],
      },
    ],
  };
  const guardPolicy = {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'GuardItemsOnly', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: options.guardTableArn },
    ],
  };
  return { keyPolicy, instanceRolePolicy, guardPolicy };
}

export async function kmsPolicyCommand(args: string[], io: Io): Promise<number> {
  let file: string | undefined;
  let use = [0];
  let account = '111122223333';
  let roleArn: string | undefined;
  let adminArn: string | undefined;
  let guardTableArn: string | undefined;
  for (const { arg, value } of eachArg(args)) {
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
    else if (arg === '--guard-table-arn') {
      guardTableArn = value();
      if (!/^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/[A-Za-z0-9_.-]{3,255}$/.test(guardTableArn))
        throw new UsageError('--guard-table-arn takes a DynamoDB table ARN');
    } else if (arg === '--help' || arg === '-h') {
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
    guardTableArn: guardTableArn ?? `arn:aws:dynamodb:eu-west-1:${account}:table/enclave-wallet-guard`,
  });
  io.stdout(JSON.stringify(out, null, 2));
  return 0;
}
