/**
 * An in-process local stack for end-to-end tests: dynalite, the local KMS,
 * the dev OIDC issuer, the enclave server (simulated NSM) over TCP and the
 * host app, each on a free port, data in a temporary folder.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevIssuer } from '@enclave-wallet/devtools';
import { createEnclaveService, createLogger, startEnclaveServer } from '@enclave-wallet/enclave';
import { testStartupConfig } from './startup.js';
import {
  Chains,
  createApp,
  EnclavePool,
  hostLogger,
  IdTokenVerifier,
  newSigningJwk,
  Store,
  TokenService,
  type AppDependencies,
  type ChainConfig,
} from '@enclave-wallet/host';
import type { RpcServer, v1 } from '@enclave-wallet/proto';
import { startLocalAws, type LocalAws } from './local-aws.js';

export interface Stack {
  url: string;
  aws: LocalAws;
  dir: string;
  caDir: string;
  issuer: DevIssuer;
  issuerUrl: string;
  store: Store;
  logLines: string[];
  /** The enclave's log lines (info and above). */
  enclaveLogLines: string[];
  enclave: RpcServer;
  enclaveAddress: string;
  restartEnclave(): Promise<void>;
  /**
   * Another host on the same table, with a store (and wallet cache) of its own, as a second instance would be;
   * on the same enclave, or with `ownEnclave` an enclave process-equivalent of its own (a second pair).
   */
  addHost(pair?: { ownEnclave?: boolean }): Promise<{ url: string; store: Store }>;
  /** Cuts the host's connections and starts a new host process-equivalent on the same port, store and enclave. */
  crashHost(): Promise<void>;
  stopEnclave(): Promise<void>;
  close(): Promise<void>;
}

const closing = (s: Server): Promise<void> => new Promise((r) => s.close(() => r()));

export async function startStack(
  options: {
    rateLimits?: boolean;
    walletCacheMs?: number;
    init?: (aws: LocalAws) => Partial<v1.InitRequest.$Properties>;
    demo?: { chainRpc?: string };
    chains?: ChainConfig[];
    /** Load balancers trusted in front (X-Forwarded-For), and the caps of AppDependencies (defaults otherwise). */
    trustProxyHops?: number;
    caps?: Pick<AppDependencies, 'maxWalletsPerUser' | 'maxAccountsPerWallet' | 'attestation'>;
    /** FRAME_ORIGIN: the one browser origin the API answers CORS for. */
    frameOrigin?: string;
    /** The enclave's start-up settings beside the simulated mode's (ENCLAVE_*: enclave/src/config.ts). */
    enclaveEnv?: NodeJS.ProcessEnv;
  } = {},
): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'stack-'));
  const caDir = join(dir, 'dev-ca');
  const aws = await startLocalAws(dir, caDir);
  const issuer = new DevIssuer({ dataDir: join(dir, 'oidc') });
  const { url: issuerUrl, server: issuerServer } = await issuer.listen(0);

  /** A fresh enclave service (each enclave process of the stack has its own), with the stack's settings. */
  const newService = () => createEnclaveService(testStartupConfig(caDir, options.enclaveEnv));
  const service = await newService();
  const enclaveLogLines: string[] = [];
  const enclaveLogger = createLogger('info', (l) => enclaveLogLines.push(l));
  let enclave = await startEnclaveServer({ listen: 'tcp://127.0.0.1:0', logger: enclaveLogger, service });
  const enclaveAddress = enclave.address;

  const db = new DynamoDBClient({ region: 'us-east-1', endpoint: aws.dynamoUrl, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const newStore = () => new Store({ client: db, tableName: 'enclave-wallet-test', walletCacheMs: options.walletCacheMs ?? 0 });
  const store = newStore();
  await store.ensureTable();
  const logLines: string[] = [];
  const logger = hostLogger('info', { write: (line: string) => logLines.push(line) });
  const hostUrl = 'http://127.0.0.1';
  // One signing key, as every instance behind a load balancer has; each host its own token service (and its caches).
  const signingJwk = await newSigningJwk();
  const startHost = async (port: number, hostStore: Store = store, address = enclaveAddress): Promise<{ pool: EnclavePool; http: Server }> => {
    const tokens = await TokenService.create(signingJwk, hostUrl, hostStore);
    const pool = new EnclavePool({ address, size: 2, minBackoffMs: 10, maxBackoffMs: 50, init: () => aws.initRequest(options.init?.(aws)) });
    const demo = options.demo
      ? { issuerUrl, devRootPath: join(caDir, 'root.der'), ...(options.demo.chainRpc ? { chain: { rpcUrl: options.demo.chainRpc, chainId: 31337 } } : {}) }
      : undefined;
    const chains = options.chains ? new Chains(options.chains, logger) : undefined;
    const app = createApp({
      enclave: pool,
      store: hostStore,
      tokens,
      ...(chains ? { chains } : {}),
      idTokens: new IdTokenVerifier([{ issuer: issuerUrl, audience: 'enclave-wallet-local' }]),
      logger,
      rateLimits: options.rateLimits ?? false,
      ...(options.trustProxyHops ? { trustProxyHops: options.trustProxyHops } : {}),
      ...options.caps,
      ...(demo ? { demo } : {}),
      ...(options.frameOrigin ? { frameOrigin: options.frameOrigin } : {}),
    });
    const http = app.listen(port, '127.0.0.1');
    await new Promise((r) => http.once('listening', r));
    return { pool, http };
  };
  let host = await startHost(0);
  const port = (host.http.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  issuer.allowOrigin(url);
  const others: Array<{ pool: EnclavePool; http: Server }> = [];
  const otherEnclaves: RpcServer[] = [];

  return {
    url,
    aws,
    dir,
    caDir,
    issuer,
    issuerUrl,
    store,
    logLines,
    enclaveLogLines,
    get enclave() {
      return enclave;
    },
    enclaveAddress,
    async stopEnclave() {
      await enclave.close();
    },
    async restartEnclave() {
      enclave = await startEnclaveServer({
        listen: enclaveAddress,
        logger: enclaveLogger,
        service: await newService(),
      });
    },
    async addHost(pair: { ownEnclave?: boolean } = {}) {
      const other = newStore();
      let address = enclaveAddress;
      if (pair.ownEnclave) {
        // A second host + enclave pair, as on a second instance: same tables, same KMS key, its own enclave process.
        const own = await startEnclaveServer({
          listen: 'tcp://127.0.0.1:0',
          logger: enclaveLogger,
          service: await newService(),
        });
        otherEnclaves.push(own);
        address = own.address;
      }
      const h = await startHost(0, other, address);
      others.push(h);
      return { url: `http://127.0.0.1:${(h.http.address() as AddressInfo).port}`, store: other };
    },
    async crashHost() {
      // As a killed process would: connections cut, nothing drained, then a fresh host on the same port.
      host.pool.close();
      host.http.closeAllConnections();
      await closing(host.http);
      host = await startHost(port);
    },
    async close() {
      for (const h of others) {
        h.pool.close();
        h.http.closeAllConnections();
        await closing(h.http);
      }
      host.pool.close();
      host.http.closeAllConnections();
      await closing(host.http);
      await enclave.close();
      for (const e of otherEnclaves) await e.close();
      await closing(issuerServer);
      db.destroy();
      await aws.close();
    },
  };
}
