/**
 * `node devtools/dist/kms/main.js`: the local KMS endpoint of the local stack
 * (LOCAL KMS, development only). Listens on 127.0.0.1:${LOCAL_KMS_PORT:-4599},
 * keeps keys under .data/kms, and makes sure one wallet key exists whose
 * policy releases data keys only to a Recipient with a valid attestation
 * document (any image: local code changes change PCR0). Its ARN is written
 * to .data/kms/local-key.json for the launcher.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_WALLET_KEY_POLICY } from './local-key.js';
import { parsePolicy } from './policy.js';
import { LocalKms } from './server.js';

const dataDir = process.env.LOCAL_KMS_DATA_DIR ?? '.data/kms';
const devCaDir = process.env.ENCLAVE_DEV_CA_DIR ?? '.data/dev-ca';
const port = Number(process.env.LOCAL_KMS_PORT ?? '4599');

const kms = new LocalKms({ dataDir, devRoot: () => new Uint8Array(readFileSync(join(devCaDir, 'root.der'))) });
const keyFile = join(dataDir, 'local-key.json');
let arn: string | undefined = existsSync(keyFile) ? (JSON.parse(readFileSync(keyFile, 'utf8')) as { arn: string }).arn : undefined;
const existing = arn ? kms.store.find(arn) : undefined;
if (existing) {
  // Data from an earlier version keeps its key and gets the current policy.
  kms.store.setPolicy(existing, parsePolicy(JSON.stringify(LOCAL_WALLET_KEY_POLICY)));
} else {
  arn = kms.store.create('enclave-wallet local wallet key', parsePolicy(JSON.stringify(LOCAL_WALLET_KEY_POLICY))).arn;
  writeFileSync(keyFile, JSON.stringify({ arn }, null, 2) + '\n');
}
const { url, server } = await kms.listen(port);
console.log(JSON.stringify({ time: new Date().toISOString(), level: 'info', component: 'local-kms', event: 'listening', url, walletKey: arn }));
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
