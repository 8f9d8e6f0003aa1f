/**
 * LOCAL KMS: the policy of the local stack's wallet key. Like the production
 * policy (`enclave-wallet kms-policy`), data keys and decryption go only to an
 * attested Recipient, and the operator may only encrypt the guard's
 * credentials; locally any image's PCR0 is accepted, since code changes
 * change it.
 */
import { GUARD_CREDENTIALS_PURPOSE } from '@enclave-wallet/proto';

export const LOCAL_WALLET_KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [
    { Sid: 'admin', Effect: 'Allow', Action: ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:PutKeyPolicy'], Principal: '*', Resource: '*' },
    {
      Sid: 'admin-encrypts-guard-credentials',
      Effect: 'Allow',
      Action: 'kms:Encrypt',
      Principal: '*',
      Resource: '*',
      Condition: { StringEquals: { 'kms:EncryptionContext:enclave-wallet:purpose': GUARD_CREDENTIALS_PURPOSE } },
    },
    {
      Sid: 'attested-enclave-only',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Principal: '*',
      Resource: '*',
      Condition: { StringLike: { 'kms:RecipientAttestation:ImageSha384': '*' } },
    },
  ],
};
