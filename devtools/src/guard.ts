/**
 * LOCAL GUARD set-up (development only): the guard table on dynalite, and the
 * guard's credentials encrypted under the wallet key the way an operator does
 * it in production (`aws kms encrypt` with the guard-credentials encryption
 * context, docs/guard.md). Dynalite accepts any credentials and enforces no
 * IAM, so locally nothing stops the host from writing the guard table: that
 * protection exists only in production, through IAM.
 */
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { GUARD_CREDENTIALS_CONTEXT } from '@enclave-wallet/proto';

/** Dev credentials of the guard (not secrets: dynalite ignores them). */
export const LOCAL_GUARD_CREDENTIALS = Object.freeze({ accessKeyId: 'LOCALGUARDDEVACCESSKEY', secretAccessKey: 'local-guard-dev-secret-not-for-production' });
/** The guard table's name in the local stack. */
export const LOCAL_GUARD_TABLE = 'enclave-wallet-guard';

/**
 * Creates the guard table (key `pk`, a string) unless it exists, through `client` or, given an endpoint, a
 * client of its own (so the enclave's tests need no DynamoDB SDK of their own).
 */
export async function ensureGuardTable(target: DynamoDBClient | string, table: string = LOCAL_GUARD_TABLE): Promise<void> {
  if (typeof target === 'string') {
    const own = new DynamoDBClient({ region: 'us-east-1', endpoint: target, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      return await ensureGuardTable(own, table);
    } finally {
      own.destroy();
    }
  }
  const client = target;
  let status: string | undefined;
  try {
    status = (await client.send(new DescribeTableCommand({ TableName: table }))).Table?.TableStatus;
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
    status = (
      await client.send(
        new CreateTableCommand({
          TableName: table,
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      )
    ).TableDescription?.TableStatus;
  }
  // A table answers reads and writes only once ACTIVE: CreateTable returns while it is CREATING (dynalite too, for
  // a moment; a guard read in that moment failed with GUARD_UNAVAILABLE in a loaded CI run).
  for (const deadline = Date.now() + 60_000; status !== 'ACTIVE';) {
    if (Date.now() > deadline) throw new Error(`the guard table ${table} is still ${status ?? 'unknown'} after 60 s`);
    await new Promise((r) => setTimeout(r, 20));
    status = (await client.send(new DescribeTableCommand({ TableName: table }))).Table?.TableStatus;
  }
}

/** The KMS ciphertext of guard credentials, as the host hands it to the enclave at init. */
export async function encryptGuardCredentials(
  kms: KMSClient,
  keyId: string,
  credentials: { accessKeyId: string; secretAccessKey: string } = LOCAL_GUARD_CREDENTIALS,
): Promise<Uint8Array> {
  const out = await kms.send(
    new EncryptCommand({ KeyId: keyId, Plaintext: new TextEncoder().encode(JSON.stringify(credentials)), EncryptionContext: { ...GUARD_CREDENTIALS_CONTEXT } }),
  );
  if (!out.CiphertextBlob) throw new Error('KMS answered Encrypt without a CiphertextBlob');
  return out.CiphertextBlob;
}

/**
 * The local stack's guard, made ready: the table on the local DynamoDB store
 * and the guard credentials encrypted by the local KMS (with the dev
 * operator's credentials). Resolves with the ciphertext, base64.
 */
export async function prepareLocalGuard(options: {
  dynamoEndpoint: string;
  kmsEndpoint: string;
  keyId: string;
  kmsCredentials: { accessKeyId: string; secretAccessKey: string };
  table?: string;
}): Promise<string> {
  const db = new DynamoDBClient({ region: 'us-east-1', endpoint: options.dynamoEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const kms = new KMSClient({ region: 'us-east-1', endpoint: options.kmsEndpoint, credentials: { ...options.kmsCredentials } });
  try {
    await ensureGuardTable(db, options.table ?? LOCAL_GUARD_TABLE);
    return Buffer.from(await encryptGuardCredentials(kms, options.keyId)).toString('base64');
  } finally {
    db.destroy();
    kms.destroy();
  }
}
