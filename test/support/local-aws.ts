/**
 * The local AWS stand-ins an enclave needs, for tests: dynalite with the guard
 * table, and the local KMS with a wallet key whose policy releases data keys
 * only to an attested Recipient (optionally bound to one PCR0), plus the
 * guard's credentials encrypted under that key. `initRequest()` is what the
 * host sends at init.
 */
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  encryptGuardCredentials,
  ensureGuardTable,
  LocalKms,
  LOCAL_GUARD_TABLE,
  LOCAL_KMS_CREDENTIALS,
  LOCAL_WALLET_KEY_POLICY,
} from '@enclave-wallet/devtools';
import type { v1 } from '@enclave-wallet/proto';
import { readDevRoot } from '../../devtools/src/nsm/index.js';

export interface LocalAws {
  kms: LocalKms;
  kmsUrl: string;
  keyArn: string;
  dynamoUrl: string;
  dynamo: DynamoDBClient;
  guardTable: string;
  guardCiphertext: Uint8Array;
  initRequest(over?: Partial<v1.InitRequest.$Properties>): v1.InitRequest.$Properties;
  close(): Promise<void>;
}

const closing = (s: Server): Promise<void> => new Promise((r) => s.close(() => r()));

/**
 * A wait until every request dynalite has received has been answered, gone client or not. An enclave killed in the
 * middle of a guard write resets its connection, but dynalite goes on with the operation's next steps; closing the
 * database under them throws "Database is closed" in this process, which fails the suite after its tests passed.
 */
function untilAnswered(server: Server): () => Promise<void> {
  const open = new Set<ServerResponse>();
  // Answered, or gone before its body was whole (dynalite starts no database work before the body's end).
  const done = (res: ServerResponse): boolean => res.writableEnded || (res.destroyed && !res.req.complete);
  server.prependListener('request', (_req, res: ServerResponse) => {
    open.add(res);
    res.once('close', () => done(res) && open.delete(res));
  });
  return async () => {
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 10))) {
      for (const res of open) if (done(res)) open.delete(res);
      if (open.size === 0) return;
    }
    const left = [...open].map((res) => res.req.headers['x-amz-target']).join(', ');
    console.warn(`dynalite closes with ${open.size} request(s) still unanswered after 10 s: ${left}`);
  };
}

/** A key policy like the local stack's, with the attested statement bound to `pcr0` when given. */
export function walletKeyPolicy(pcr0?: string): string {
  const policy = structuredClone(LOCAL_WALLET_KEY_POLICY) as { Statement: Array<{ Sid: string; Condition?: unknown }> };
  if (pcr0)
    for (const s of policy.Statement)
      if (s.Sid === 'attested-enclave-only') s.Condition = { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': pcr0 } };
  return JSON.stringify(policy);
}

export async function startLocalAws(dir: string, caDir: string, options: { pcr0?: string } = {}): Promise<LocalAws> {
  const dyn = dynalite({ path: join(dir, 'dynamodb'), createTableMs: 0 });
  await new Promise<void>((r) => dyn.listen(0, '127.0.0.1', () => r()));
  const answered = untilAnswered(dyn);
  const dynamoUrl = `http://127.0.0.1:${(dyn.address() as AddressInfo).port}`;
  const dynamo = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamoUrl, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await ensureGuardTable(dynamo, LOCAL_GUARD_TABLE);
  const kms = new LocalKms({ dataDir: join(dir, 'kms'), devRoot: () => readDevRoot(caDir) });
  const { url: kmsUrl, server: kmsServer } = await kms.listen(0);
  const admin = new KMSClient({ region: 'us-east-1', endpoint: kmsUrl, credentials: { ...LOCAL_KMS_CREDENTIALS } });
  const keyArn = (await admin.send(new CreateKeyCommand({ Policy: walletKeyPolicy(options.pcr0) }))).KeyMetadata!.Arn!;
  const guardCiphertext = await encryptGuardCredentials(admin, keyArn);
  admin.destroy();
  return {
    kms,
    kmsUrl,
    keyArn,
    dynamoUrl,
    dynamo,
    guardTable: LOCAL_GUARD_TABLE,
    guardCiphertext,
    initRequest: (over = {}) => ({
      kmsRegion: 'us-east-1',
      kmsEndpoint: kmsUrl,
      kmsKeyId: keyArn,
      credentials: { ...LOCAL_KMS_CREDENTIALS },
      guardTable: LOCAL_GUARD_TABLE,
      guardEndpoint: dynamoUrl,
      guardCredentialsCiphertext: guardCiphertext,
      ...over,
    }),
    async close() {
      dynamo.destroy();
      await closing(kmsServer);
      await answered();
      await closing(dyn);
    },
  };
}
