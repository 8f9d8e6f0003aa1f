/** The host's configuration, read once from the environment and validated as a whole. */
import { readFileSync } from 'node:fs';
import { parseIssuers, type TrustedIssuer } from './auth/oidc.js';
import { parseChains, type ChainConfig } from './chains/config.js';

export interface HostConfig {
  port: number;
  bind: string;
  publicUrl: string;
  enclaveAddress: string;
  enclavePoolSize: number;
  dynamoEndpoint: string | undefined;
  region: string;
  table: string;
  /** How long this host may answer a signing request from a wallet record it read or wrote (0: always read). */
  walletCacheMs: number;
  issuers: TrustedIssuer[];
  signingKeyJwk: string | undefined;
  signingKeyFile: string | undefined;
  rateLimits: boolean;
  /** Load balancers in front of the host whose X-Forwarded-For entries are trusted. */
  trustProxyHops: number;
  /** How long a stop waits for requests in flight (SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs: number;
  /** Bearer token for /metrics; unset = loopback clients only (and then TRUST_PROXY_HOPS must be 0). */
  metricsToken: string | undefined;
  /** The demo page: only with the dev issuer (the local stack). */
  demo: { issuerUrl: string; devRootPath: string; chain?: { rpcUrl: string; chainId: number }; solana?: { rpcUrl: string; cluster: string } } | undefined;
  /** The KMS key for the enclave, and where its credentials come from: the environment, or the instance role (IMDSv2). */
  kms:
    | { keyId: string; region: string; endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string } | 'instance-role' }
    | undefined;
  /**
   * The enclave's guard table (attempt counters, blob versions): its name or
   * ARN and endpoint (both empty on Nitro, where the image pins them), and the
   * KMS ciphertext of its credentials, which only the enclave can decrypt.
   */
  guard: { table: string; endpoint: string; credentialsCiphertext: Uint8Array };
  /** CHAINS: the chains balances are read from and transactions sent to (their RPC URLs redacted in any output). */
  chains: ChainConfig[];
  /** Open connections per client address (HOST_MAX_CONNECTIONS_PER_ADDRESS; 0: no cap). */
  maxConnectionsPerAddress: number;
  /** Caps on what one user may own (MAX_WALLETS_PER_USER, MAX_ACCOUNTS_PER_WALLET). */
  maxWalletsPerUser: number;
  maxAccountsPerWallet: number;
  /** Fresh attestation documents per second and at once, per host (ATTESTATION_RATE, ATTESTATION_CONCURRENCY). */
  attestationRate: number;
  attestationConcurrency: number;
  /** FRAME_ORIGIN: the wallet frame's origin (docs/frame.md), the one browser origin the API answers CORS for; unset: none. */
  frameOrigin: string | undefined;
}

/** Defaults of the caps (docs/configuration.md). */
export const HOST_LIMIT_DEFAULTS = Object.freeze({
  maxConnectionsPerAddress: 64,
  maxWalletsPerUser: 20,
  maxAccountsPerWallet: 32,
  attestationRate: 20,
  attestationConcurrency: 2,
});

export function loadHostConfig(env: NodeJS.ProcessEnv): HostConfig {
  const problems: string[] = [];
  const port = Number(env.HOST_PORT ?? '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push('HOST_PORT must be a port number');
  const bind = env.HOST_BIND ?? '127.0.0.1';
  let issuers: TrustedIssuer[] = [];
  try {
    issuers = parseIssuers(env.AUTH_ISSUERS);
  } catch (err) {
    problems.push((err as Error).message);
  }
  // The dev issuer is trusted only when the local stack names it.
  if (env.AUTH_DEV_ISSUER) issuers.push({ issuer: env.AUTH_DEV_ISSUER, audience: env.AUTH_DEV_AUDIENCE ?? 'enclave-wallet-local' });
  const region = env.AWS_REGION ?? env.KMS_REGION ?? 'us-east-1';
  const kms = env.KMS_KEY_ID
    ? {
        keyId: env.KMS_KEY_ID,
        region: env.KMS_REGION ?? region,
        endpoint: env.KMS_ENDPOINT ?? '',
        credentials:
          env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
            ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN ?? '' }
            : ('instance-role' as const),
      }
    : undefined;
  let guardCiphertext = new Uint8Array(0);
  try {
    const text = env.GUARD_CREDENTIALS_CIPHERTEXT_FILE ? readFileSync(env.GUARD_CREDENTIALS_CIPHERTEXT_FILE, 'utf8') : (env.GUARD_CREDENTIALS_CIPHERTEXT ?? '');
    guardCiphertext = new Uint8Array(Buffer.from(text.trim(), 'base64'));
  } catch {
    problems.push('GUARD_CREDENTIALS_CIPHERTEXT_FILE cannot be read');
  }
  if (kms && guardCiphertext.length === 0)
    problems.push('GUARD_CREDENTIALS_CIPHERTEXT (base64 KMS ciphertext of the guard credentials) is required with KMS_KEY_ID; see docs/guard.md');
  const shutdownTimeoutMs = Number(env.SHUTDOWN_TIMEOUT_MS ?? '10000');
  if (!Number.isInteger(shutdownTimeoutMs) || shutdownTimeoutMs < 0 || shutdownTimeoutMs > 600_000) problems.push('SHUTDOWN_TIMEOUT_MS must be 0 to 600000');
  const trustProxyHops = Number(env.TRUST_PROXY_HOPS ?? '0');
  if (!Number.isInteger(trustProxyHops) || trustProxyHops < 0 || trustProxyHops > 5) problems.push('TRUST_PROXY_HOPS must be 0 to 5');
  if (env.METRICS_TOKEN !== undefined && env.METRICS_TOKEN.length < 16) problems.push('METRICS_TOKEN must be at least 16 characters');
  // Behind a proxy on the same machine every client's socket is loopback, so "loopback only" would let anyone in.
  if (Number.isInteger(trustProxyHops) && trustProxyHops > 0 && !env.METRICS_TOKEN)
    problems.push('METRICS_TOKEN is required with TRUST_PROXY_HOPS > 0 (behind a proxy every client may look like loopback)');
  const walletCacheSeconds = Number(env.WALLET_CACHE_SECONDS ?? '30');
  if (!Number.isInteger(walletCacheSeconds) || walletCacheSeconds < 0 || walletCacheSeconds > 3600) problems.push('WALLET_CACHE_SECONDS must be 0 to 3600');
  const int = (name: string, text: string | undefined, fallback: number, min: number, max: number): number => {
    const value = Number(text ?? String(fallback));
    if (!Number.isInteger(value) || value < min || value > max) problems.push(`${name} must be ${min} to ${max}`);
    return value;
  };
  const maxConnectionsPerAddress = int(
    'HOST_MAX_CONNECTIONS_PER_ADDRESS',
    env.HOST_MAX_CONNECTIONS_PER_ADDRESS,
    HOST_LIMIT_DEFAULTS.maxConnectionsPerAddress,
    0,
    100_000,
  );
  const maxWalletsPerUser = int('MAX_WALLETS_PER_USER', env.MAX_WALLETS_PER_USER, HOST_LIMIT_DEFAULTS.maxWalletsPerUser, 1, 10_000);
  const maxAccountsPerWallet = int('MAX_ACCOUNTS_PER_WALLET', env.MAX_ACCOUNTS_PER_WALLET, HOST_LIMIT_DEFAULTS.maxAccountsPerWallet, 3, 1000);
  const attestationRate = int('ATTESTATION_RATE', env.ATTESTATION_RATE, HOST_LIMIT_DEFAULTS.attestationRate, 1, 10_000);
  const attestationConcurrency = int('ATTESTATION_CONCURRENCY', env.ATTESTATION_CONCURRENCY, HOST_LIMIT_DEFAULTS.attestationConcurrency, 1, 64);
  const frameOrigin = env.FRAME_ORIGIN ? parseFrameOrigin(env.FRAME_ORIGIN, problems) : undefined;
  const poolSize = Number(env.ENCLAVE_POOL_SIZE ?? '2');
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 64) problems.push('ENCLAVE_POOL_SIZE must be 1 to 64');
  let chains: ChainConfig[] = [];
  try {
    chains = parseChains(env.CHAINS);
  } catch (err) {
    problems.push(
      ...(err as Error).message
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && l !== 'invalid CHAINS:'),
    );
  }
  if (problems.length) throw new Error(`invalid host configuration:\n  ${problems.join('\n  ')}`);
  return {
    port,
    bind,
    publicUrl: env.HOST_PUBLIC_URL ?? `http://${bind}:${port}`,
    enclaveAddress: env.ENCLAVE_ADDRESS ?? `tcp://127.0.0.1:${env.ENCLAVE_PORT ?? '5005'}`,
    enclavePoolSize: poolSize,
    dynamoEndpoint: env.DYNAMODB_ENDPOINT || undefined,
    region,
    table: env.DYNAMODB_TABLE ?? 'enclave-wallet',
    walletCacheMs: walletCacheSeconds * 1000,
    issuers,
    signingKeyJwk: env.HOST_SIGNING_KEY || undefined,
    signingKeyFile: env.HOST_SIGNING_KEY_FILE || undefined,
    rateLimits: env.RATE_LIMITS !== 'off',
    trustProxyHops,
    shutdownTimeoutMs,
    metricsToken: env.METRICS_TOKEN || undefined,
    demo: env.AUTH_DEV_ISSUER
      ? {
          issuerUrl: env.AUTH_DEV_ISSUER,
          devRootPath: `${env.ENCLAVE_DEV_CA_DIR ?? '.data/dev-ca'}/root.der`,
          ...(env.LOCAL_CHAIN_RPC ? { chain: { rpcUrl: env.LOCAL_CHAIN_RPC, chainId: Number(env.LOCAL_CHAIN_ID ?? '31337') } } : {}),
          ...(env.LOCAL_SOLANA_RPC ? { solana: { rpcUrl: env.LOCAL_SOLANA_RPC, cluster: 'localnet' } } : {}),
        }
      : undefined,
    kms,
    guard: { table: env.GUARD_TABLE ?? '', endpoint: env.GUARD_ENDPOINT ?? '', credentialsCiphertext: guardCiphertext },
    chains,
    maxConnectionsPerAddress,
    maxWalletsPerUser,
    maxAccountsPerWallet,
    attestationRate,
    attestationConcurrency,
    frameOrigin,
  };
}

/** One origin, `scheme://host[:port]` (http or https; no path, no wildcard), normalised as browsers send it. */
function parseFrameOrigin(text: string, problems: string[]): string | undefined {
  const problem = 'FRAME_ORIGIN must be one origin, https://host[:port] (http only for localhost), without a path or a wildcard';
  try {
    const url = new URL(text.trim());
    const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
    if (text.includes('*') || text.includes(',') || url.pathname !== '/' || url.search || url.hash || url.username || url.password) throw new Error();
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) throw new Error();
    return url.origin;
  } catch {
    problems.push(problem);
    return undefined;
  }
}
