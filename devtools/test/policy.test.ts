import { isAllowed, type KeyPolicy } from '../src/kms/policy.js';

const PCR0 = 'ab'.repeat(48);
const policy: KeyPolicy = {
  Statement: [
    { Effect: 'Allow', Action: 'kms:DescribeKey' },
    {
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Condition: { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': PCR0.toUpperCase() } },
    },
    { Effect: 'Allow', Action: 'kms:Encrypt', Condition: { StringLike: { 'kms:RecipientAttestation:ImageSha384': '*' } } },
    { Effect: 'Deny', Action: 'kms:*', Condition: { StringEquals: { 'kms:RecipientAttestation:PCR8': 'ff'.repeat(48) } } },
  ],
};
const attested = { 'kms:RecipientAttestation:ImageSha384': PCR0, 'kms:RecipientAttestation:PCR8': '00'.repeat(48) };

test.each([
  ['kms:DescribeKey', {}, true],
  ['kms:Decrypt', {}, false],
  ['kms:Decrypt', attested, true],
  ['kms:Decrypt', { ...attested, 'kms:RecipientAttestation:ImageSha384': 'cd'.repeat(48) }, false],
  ['kms:GenerateDataKey', attested, true],
  ['kms:Encrypt', {}, false],
  ['kms:Encrypt', attested, true],
  ['kms:Decrypt', { ...attested, 'kms:RecipientAttestation:PCR8': 'ff'.repeat(48) }, false],
  ['kms:CreateGrant', attested, false],
] as Array<[string, Record<string, string>, boolean]>)('%s with %j → %s', (action, ctx, allowed) => {
  expect(isAllowed(policy, action, ctx)).toBe(allowed);
});

test('unknown condition operators never grant', () => {
  expect(isAllowed({ Statement: [{ Effect: 'Allow', Action: 'kms:*', Condition: { NumericLessThan: { x: '1' } } }] }, 'kms:Decrypt', { x: '0' })).toBe(false);
});
