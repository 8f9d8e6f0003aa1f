/**
 * Entry point of the host process; see config.ts and README.md for the
 * environment it reads.
 */
import { storageClient } from './storage/client.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createApp } from './app.js';
import { IdTokenVerifier } from './auth/oidc.js';
import { newSigningJwk, TokenService } from './auth/tokens.js';
import { loadHostConfig } from './config.js';
import { hostLogger } from './log.js';
import { CredentialRefresher, fetchRoleCredentials } from './credentials.js';
import { EnclavePool } from './enclave-client.js';
import { Chains } from './chains/index.js';
import { Drain } from './shutdown.js';
import { Store } from './storage/index.js';
import { createHostServer } from './server.js';

const log = hostLogger(process.env.LOG_LEVEL);

async function signingKey(config: ReturnType<typeof loadHostConfig>): Promise<Record<string, unknown>> {
  if (config.signingKeyJwk) {
    try {
      return JSON.parse(config.signingKeyJwk) as Record<string, unknown>;
    } catch {
      // JSON.parse's message quotes the input, which is a private key: say nothing more.
      throw new Error('HOST_SIGNING_KEY is not valid JSON');
    }
  }
  if (!config.signingKeyFile) throw new Error('set HOST_SIGNING_KEY (a private ES256 JWK) or HOST_SIGNING_KEY_FILE');
  if (existsSync(config.signingKeyFile)) return JSON.parse(readFileSync(config.signingKeyFile, 'utf8')) as Record<string, unknown>;
  const jwk = await newSigningJwk();
  mkdirSync(dirname(config.signingKeyFile), { recursive: true, mode: 0o700 });
  writeFileSync(config.signingKeyFile, JSON.stringify(jwk), { mode: 0o600 });
  return jwk as Record<string, unknown>;
}

try {
  const config = loadHostConfig(process.env);
  const db = storageClient({ region: config.region, endpoint: config.dynamoEndpoint });
  const store = new Store({ client: db, tableName: config.table, walletCacheMs: config.walletCacheMs });
  if (config.dynamoEndpoint) await store.ensureTable();
  const tokens = await TokenService.create(await signingKey(config), config.publicUrl, store);
  const kms = config.kms;
  if (!kms) log.warn('KMS_KEY_ID not set: the enclave will not be initialised (wallet operations unavailable)');
  // On EC2 the enclave's KMS credentials are the instance role's, refreshed before they expire.
  const refresher =
    kms?.credentials === 'instance-role'
      ? new CredentialRefresher(
          () => fetchRoleCredentials(),
          async (c) => {
            await enclave.call('updateCredentials', {
              credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, expirationMs: c.expiration },
            });
            log.info({ expiresAt: new Date(c.expiration).toISOString() }, 'instance-role credentials handed to the enclave');
          },
          (err) => log.warn({ reason: (err as Error).message }, 'credential refresh failed; retrying'),
        )
      : undefined;
  const credentialsForInit = async (): Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken: string; expirationMs?: number }> => {
    if (kms!.credentials !== 'instance-role') return kms!.credentials;
    const c = await refresher!.get();
    return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, expirationMs: c.expiration };
  };
  const enclave = new EnclavePool({
    address: config.enclaveAddress,
    size: config.enclavePoolSize,
    init: kms
      ? async () => ({
          kmsRegion: kms.region,
          kmsEndpoint: kms.endpoint,
          kmsKeyId: kms.keyId,
          credentials: await credentialsForInit(),
          guardTable: config.guard.table,
          guardEndpoint: config.guard.endpoint,
          guardCredentialsCiphertext: config.guard.credentialsCiphertext,
        })
      : undefined,
  });
  const drain = new Drain();
  const chains = new Chains(config.chains, log);
  const app = createApp({
    drain,
    enclave,
    store,
    tokens,
    chains,
    idTokens: new IdTokenVerifier(config.issuers),
    logger: log,
    rateLimits: config.rateLimits,
    trustProxyHops: config.trustProxyHops,
    metricsToken: config.metricsToken,
    maxWalletsPerUser: config.maxWalletsPerUser,
    maxAccountsPerWallet: config.maxAccountsPerWallet,
    attestation: { concurrency: config.attestationConcurrency, ratePerSecond: config.attestationRate },
    ...(config.demo ? { demo: config.demo } : {}),
    ...(config.frameOrigin ? { frameOrigin: config.frameOrigin } : {}),
  });
  // The chains by name only: an RPC URL may carry an API key.
  // Timeouts of seconds and a cap on connections per client address (server.ts).
  const server = createHostServer(app, {
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    trustProxyHops: config.trustProxyHops,
    prototypes: { request: app.request, response: app.response },
  });
  // A listen error (EADDRINUSE, EACCES): say it and exit 1, never "listening".
  server.once('error', (err: NodeJS.ErrnoException) => {
    log.error({ reason: err.message, code: err.code, bind: config.bind, port: config.port }, 'listen failed');
    process.exit(1);
  });
  server.listen(config.port, config.bind, () => {
    log.info(
      {
        url: config.publicUrl,
        issuers: config.issuers.map((i) => i.issuer),
        chains: chains.list().map((c) => `${c.network}:${c.chainId ?? c.cluster} ${c.name}`),
      },
      'listening',
    );
  });
  // Graceful: /readyz and new requests 503 at once, no new connections, requests in flight finish (SHUTDOWN_TIMEOUT_MS).
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, inFlight: drain.requestsInFlight }, 'stopping');
    server.close();
    server.closeIdleConnections();
    void drain.start(config.shutdownTimeoutMs).then((how) => {
      log.info({ how }, 'stopped');
      refresher?.stop();
      enclave.close();
      server.closeAllConnections();
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (err) {
  log.error({ reason: (err as Error).message }, 'start failed');
  process.exit(1);
}
