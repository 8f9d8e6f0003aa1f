/**
 * The enclave's configuration: what it reads from its own environment at
 * start-up (baked into the image on Nitro, so part of PCR0), and the checks
 * it applies to what the host sends at init. The host is not trusted to
 * choose security parameters: those are compiled in or pinned here.
 */
import { EnclaveWalletError, type v1 } from '@enclave-wallet/proto';
import type { PlatformMode } from './platform/types.js';
import type { KmsConfig } from './kms/client.js';

export interface StartupConfig {
  mode: PlatformMode;
  listen: string;
  devCaDir: string;
  /** When set (baked into the image), init must name exactly this KMS key. */
  pinnedKmsKeyId: string | undefined;
  /** vsock-proxy on the parent for KMS (nitro mode; default vsock://3:8000). */
  kmsProxy: string | undefined;
  logLevel: 'debug' | 'info';
}

/** Reads and validates the start-up environment, reporting every problem at once. */
export function loadStartupConfig(env: NodeJS.ProcessEnv): StartupConfig {
  const problems: string[] = [];
  const mode = (env.ENCLAVE_PLATFORM ?? 'simulated') as PlatformMode;
  if (mode !== 'nitro' && mode !== 'simulated') problems.push('ENCLAVE_PLATFORM must be nitro or simulated');
  const listen = env.ENCLAVE_LISTEN ?? `tcp://127.0.0.1:${env.ENCLAVE_PORT ?? '5005'}`;
  if (!/^(tcp|vsock):\/\//.test(listen)) problems.push('ENCLAVE_LISTEN must be tcp://HOST:PORT or vsock://CID:PORT');
  const pinned = env.ENCLAVE_KMS_KEY_ID || undefined;
  if (pinned !== undefined && !KMS_KEY.test(pinned)) problems.push('ENCLAVE_KMS_KEY_ID must be a KMS key id or ARN');
  const kmsProxy = env.ENCLAVE_KMS_PROXY ?? (mode === 'nitro' ? 'vsock://3:8000' : undefined);
  if (kmsProxy !== undefined && !/^vsock:\/\/\d+:\d+$/.test(kmsProxy)) problems.push('ENCLAVE_KMS_PROXY must be vsock://CID:PORT');
  if (problems.length > 0) throw new Error(`invalid enclave configuration:\n  ${problems.join('\n  ')}`);
  return Object.freeze({
    kmsProxy,
    mode,
    listen,
    devCaDir: env.ENCLAVE_DEV_CA_DIR ?? '.data/dev-ca',
    pinnedKmsKeyId: pinned,
    logLevel: env.LOG_LEVEL === 'debug' ? 'debug' : 'info',
  });
}

const REGION = /^[a-z]{2,}(-[a-z]+)+-\d+$/;
const KMS_KEY = /^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^mrk-[0-9a-f]{32}$/;
const LOOPBACK_HTTP = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}\/?$/;
const HTTPS = /^https:\/\/[a-z0-9.-]+(:\d{1,5})?\/?$/;

/**
 * Checks an InitRequest against the compiled-in bounds: a real-looking
 * region, a KMS key id or ARN (the pinned one when the image pins one), an
 * HTTPS endpoint (plain HTTP only to loopback in simulated mode), and
 * credentials. All problems are reported together.
 */
export function validateInit(req: v1.InitRequest.$Properties, startup: StartupConfig): KmsConfig {
  const problems: string[] = [];
  if (!REGION.test(req.kmsRegion ?? '')) problems.push('kmsRegion is not an AWS region name');
  if (!KMS_KEY.test(req.kmsKeyId ?? '')) problems.push('kmsKeyId is not a KMS key id or ARN');
  if (startup.pinnedKmsKeyId && req.kmsKeyId !== startup.pinnedKmsKeyId) problems.push('kmsKeyId differs from the key pinned in this image');
  const endpoint = req.kmsEndpoint ?? '';
  if (endpoint !== '' && !HTTPS.test(endpoint) && !(startup.mode === 'simulated' && LOOPBACK_HTTP.test(endpoint))) {
    problems.push(startup.mode === 'nitro' ? 'kmsEndpoint must be https' : 'kmsEndpoint must be https, or http on loopback');
  }
  const c = req.credentials;
  if (!c?.accessKeyId || !c.secretAccessKey) problems.push('credentials are required');
  if (problems.length > 0) throw new EnclaveWalletError('CONFIG_REJECTED', `init refused: ${problems.join('; ')}`);
  return {
    region: req.kmsRegion!,
    endpoint: endpoint || undefined,
    keyId: req.kmsKeyId!,
    credentials: credentialsFrom(c!),
    ...(startup.kmsProxy ? { proxy: startup.kmsProxy } : {}),
  };
}

export function credentialsFrom(c: v1.AwsCredentials.$Properties): KmsConfig['credentials'] {
  return {
    accessKeyId: c.accessKeyId ?? '',
    secretAccessKey: c.secretAccessKey ?? '',
    ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
    ...(c.expirationMs ? { expiration: new Date(c.expirationMs) } : {}),
  };
}
