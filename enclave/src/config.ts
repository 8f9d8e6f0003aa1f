/**
 * The enclave's configuration: what it reads from its own environment at
 * start-up (baked into the image on Nitro, so part of PCR0), and the checks
 * it applies to what the host sends at init.
 *
 * The host is not trusted to choose anything that decides where secrets come
 * from. In nitro mode the KMS key ARN and the guard table ARN are compiled
 * into the image (the enclave refuses to start without them), the region is
 * the key's, and the endpoints are derived here (`kms.<region>.amazonaws.com`,
 * `dynamodb.<region>.amazonaws.com`, or their FIPS names), reached with TLS
 * that trusts only the Amazon roots (kms/amazon-roots.ts). The host hands over
 * only credentials: temporary ones for KMS, and the KMS ciphertext of the
 * guard's credentials, which only this image can decrypt.
 */
import { EnclaveWalletError, type v1 } from '@enclave-wallet/proto';
import type { PlatformMode } from './platform/types.js';
import { AMAZON_ROOTS } from './kms/amazon-roots.js';
import type { AwsCredentials, KmsConfig } from './kms/client.js';
import { DEFAULT_ENVELOPES_PER_USER, REPLAY_CACHE_ENTRIES } from './envelope/replay.js';

/** What nitro mode takes from the image alone. */
export interface PinnedAws {
  /** The wallet key's ARN. */
  kmsKeyArn: string;
  /** Its region: every AWS call of the enclave goes there. */
  region: string;
  /** Use the FIPS endpoints. */
  fips: boolean;
  /** The guard table's ARN (same region). */
  guardTableArn: string;
}

export interface StartupConfig {
  mode: PlatformMode;
  listen: string;
  devCaDir: string;
  /** Nitro mode: everything about AWS that the host may not choose. */
  pinned: PinnedAws | undefined;
  /** Simulated mode: when set, init must name exactly this KMS key. */
  pinnedKmsKeyId: string | undefined;
  /** vsock-proxy on the parent for KMS (nitro mode; default vsock://3:8000). */
  kmsProxy: string | undefined;
  /** vsock-proxy on the parent for DynamoDB (nitro mode; default vsock://3:8001). */
  guardProxy: string | undefined;
  /** Where passkeys may be registered (docs/passkeys.md): the RP id and the origins; undefined: passkeys are off. */
  passkeys: PasskeyConfig | undefined;
  /**
   * ENCLAVE_ENVELOPES_PER_USER: the live PIN envelopes (nonces within their lifetime) one user may hold
   * (envelope/replay.ts; default 1,000, at most the whole cache). The launcher and the benchmark raise it to the whole
   * cache with RATE_LIMITS=off, where no per-user limit of the host comes first (docs/configuration.md).
   */
  envelopesPerUser: number;
}

/** The relying party of this deployment's passkeys. */
export interface PasskeyConfig {
  rpId: string;
  /** Exact origins; `http://localhost:*` (simulated mode only) is any port of localhost. */
  origins: readonly string[];
}

/** Any port of localhost: the simulated mode's default, so that local stacks on any port can use passkeys. */
export const ANY_LOCALHOST = 'http://localhost:*';
const ORIGIN = /^https:\/\/([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::\d{1,5})?$/;
const LOCAL_ORIGIN = /^http:\/\/(localhost)(?::(?:\d{1,5}|\*))?$/;

/** Whether `origin` (from a client's data) is one of `config`'s. */
export function passkeyOriginAllowed(config: PasskeyConfig, origin: string): boolean {
  return config.origins.includes(origin) || (config.origins.includes(ANY_LOCALHOST) && /^http:\/\/localhost(:\d{1,5})?$/.test(origin));
}

/** ENCLAVE_PASSKEY_ORIGINS (comma-separated) and ENCLAVE_PASSKEY_RP_ID (default: the first origin's host). */
function loadPasskeys(env: NodeJS.ProcessEnv, mode: PlatformMode, problems: string[]): PasskeyConfig | undefined {
  const list = (env.ENCLAVE_PASSKEY_ORIGINS ?? (mode === 'simulated' ? ANY_LOCALHOST : ''))
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  if (!list.length) return undefined;
  const hosts: string[] = [];
  for (const origin of list) {
    const m = ORIGIN.exec(origin) ?? (mode === 'simulated' ? LOCAL_ORIGIN.exec(origin) : null);
    if (!m)
      problems.push(
        `ENCLAVE_PASSKEY_ORIGINS: ${origin} is not an https origin${mode === 'simulated' ? ' or http://localhost[:port|:*]' : ''} (no path, no slash)`,
      );
    else hosts.push(m[1]!);
  }
  const rpId = env.ENCLAVE_PASSKEY_RP_ID || hosts[0] || '';
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(rpId)) problems.push('ENCLAVE_PASSKEY_RP_ID must be a domain name');
  for (const h of hosts) if (h !== rpId && !h.endsWith(`.${rpId}`)) problems.push(`ENCLAVE_PASSKEY_ORIGINS: ${h} is not ${rpId} or under it`);
  return { rpId, origins: list };
}

/** Where the guard lives and how the enclave reaches it; see guard/. */
export interface GuardConfig {
  region: string;
  /** Empty for the region's default endpoint. */
  endpoint?: string;
  /** Table name, or its ARN (nitro mode). */
  table: string;
  /** KMS CiphertextBlob of the guard credentials (JSON), under the wallet key. */
  credentialsCiphertext: Uint8Array;
  proxy?: string;
  /** TLS roots for the endpoint (nitro mode: the Amazon roots only). */
  ca?: readonly string[];
}

const REGION = /^[a-z]{2,}(-[a-z]+)+-\d+$/;
const KMS_KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^mrk-[0-9a-f]{32}$/;
const KMS_KEY_ARN =
  /^arn:(aws[a-z-]*):kms:([a-z]{2,}(?:-[a-z]+)+-\d+):(\d{12}):key\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const TABLE_ARN = /^arn:(aws[a-z-]*):dynamodb:([a-z]{2,}(?:-[a-z]+)+-\d+):(\d{12}):table\/([A-Za-z0-9_.-]{3,255})$/;
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const LOOPBACK_HTTP = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}\/?$/;
const HTTPS = /^https:\/\/[a-z0-9.-]+(:\d{1,5})?\/?$/;

const isKmsKey = (s: string): boolean => KMS_KEY_ID.test(s) || KMS_KEY_ARN.test(s);

/** The AWS endpoint of a service in a region, as the enclave derives it (never taken from the host). */
export function awsEndpoint(service: 'kms' | 'dynamodb', region: string, fips: boolean): string {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://${service}${fips ? '-fips' : ''}.${region}.${suffix}`;
}

/** Reads and validates the start-up environment, reporting every problem at once. */
export function loadStartupConfig(env: NodeJS.ProcessEnv): StartupConfig {
  const problems: string[] = [];
  const mode = (env.ENCLAVE_PLATFORM ?? 'simulated') as PlatformMode;
  if (mode !== 'nitro' && mode !== 'simulated') problems.push('ENCLAVE_PLATFORM must be nitro or simulated');
  const listen = env.ENCLAVE_LISTEN ?? `tcp://127.0.0.1:${env.ENCLAVE_PORT ?? '5005'}`;
  if (!/^(tcp|vsock):\/\//.test(listen)) problems.push('ENCLAVE_LISTEN must be tcp://HOST:PORT or vsock://CID:PORT');
  const keyId = env.ENCLAVE_KMS_KEY_ID || undefined;
  const guardTable = env.ENCLAVE_GUARD_TABLE || undefined;
  let pinned: PinnedAws | undefined;
  if (mode === 'nitro') {
    const key = KMS_KEY_ARN.exec(keyId ?? '');
    const table = TABLE_ARN.exec(guardTable ?? '');
    if (!keyId) problems.push('ENCLAVE_KMS_KEY_ID is required in nitro mode: build the image with --build-arg KMS_KEY_ID=arn:aws:kms:…');
    else if (!key) problems.push('ENCLAVE_KMS_KEY_ID must be a full KMS key ARN in nitro mode (the region comes from it)');
    if (!guardTable) problems.push('ENCLAVE_GUARD_TABLE is required in nitro mode: build the image with --build-arg GUARD_TABLE_ARN=arn:aws:dynamodb:…');
    else if (!table) problems.push('ENCLAVE_GUARD_TABLE must be a DynamoDB table ARN in nitro mode');
    if (key && table && (key[1] !== table[1] || key[2] !== table[2] || key[3] !== table[3]))
      problems.push('ENCLAVE_GUARD_TABLE must be in the same partition, region and account as the KMS key');
    if (env.ENCLAVE_AWS_FIPS !== undefined && env.ENCLAVE_AWS_FIPS !== '0' && env.ENCLAVE_AWS_FIPS !== '1') problems.push('ENCLAVE_AWS_FIPS must be 0 or 1');
    if (key && table) pinned = { kmsKeyArn: keyId!, region: key[2]!, fips: env.ENCLAVE_AWS_FIPS === '1', guardTableArn: guardTable! };
  } else if (keyId !== undefined && !isKmsKey(keyId)) problems.push('ENCLAVE_KMS_KEY_ID must be a KMS key id or ARN');
  const kmsProxy = env.ENCLAVE_KMS_PROXY ?? (mode === 'nitro' ? 'vsock://3:8000' : undefined);
  if (kmsProxy !== undefined && !/^vsock:\/\/\d+:\d+$/.test(kmsProxy)) problems.push('ENCLAVE_KMS_PROXY must be vsock://CID:PORT');
  const guardProxy = env.ENCLAVE_GUARD_PROXY ?? (mode === 'nitro' ? 'vsock://3:8001' : undefined);
  if (guardProxy !== undefined && !/^vsock:\/\/\d+:\d+$/.test(guardProxy)) problems.push('ENCLAVE_GUARD_PROXY must be vsock://CID:PORT');
  const passkeys = loadPasskeys(env, mode, problems);
  const perUser = env.ENCLAVE_ENVELOPES_PER_USER || String(DEFAULT_ENVELOPES_PER_USER);
  const envelopesPerUser = /^[1-9]\d{0,5}$/.test(perUser) ? Number(perUser) : NaN;
  if (!(envelopesPerUser <= REPLAY_CACHE_ENTRIES))
    problems.push(`ENCLAVE_ENVELOPES_PER_USER must be a whole number from 1 to ${REPLAY_CACHE_ENTRIES} (the replay cache's size)`);
  if (problems.length > 0) throw new Error(`invalid enclave configuration:\n  ${problems.join('\n  ')}`);
  return Object.freeze({
    passkeys,
    envelopesPerUser,
    kmsProxy,
    guardProxy,
    mode,
    listen,
    devCaDir: env.ENCLAVE_DEV_CA_DIR ?? '.data/dev-ca',
    pinned,
    pinnedKmsKeyId: mode === 'nitro' ? pinned?.kmsKeyArn : keyId,
  });
}

/**
 * Checks an InitRequest. In nitro mode the host may repeat the compiled-in
 * region, key, table and derived endpoints or leave them empty, and nothing
 * else; in simulated mode it names them (plain HTTP only to loopback). All
 * problems are reported together.
 */
export function validateInit(req: v1.InitRequest.$Properties, startup: StartupConfig): { kms: KmsConfig; guard: GuardConfig } {
  const problems: string[] = [];
  const c = req.credentials;
  if (!c?.accessKeyId || !c.secretAccessKey) problems.push('credentials are required');
  const guardCiphertext = req.guardCredentialsCiphertext ?? new Uint8Array(0);
  if (guardCiphertext.length === 0) problems.push('guardCredentialsCiphertext is required');
  if (guardCiphertext.length > 4096) problems.push('guardCredentialsCiphertext is too long');

  let kms: Omit<KmsConfig, 'credentials'>;
  let guard: Omit<GuardConfig, 'credentialsCiphertext'>;
  const pinned = startup.pinned;
  if (startup.mode === 'nitro') {
    if (!pinned) throw new EnclaveWalletError('CONFIG_REJECTED', 'init refused: this image pins no KMS key or guard table');
    const kmsEndpoint = awsEndpoint('kms', pinned.region, pinned.fips);
    const guardEndpoint = awsEndpoint('dynamodb', pinned.region, pinned.fips);
    const sameOrEmpty = (value: string | null | undefined, expected: string, field: string): void => {
      const v = (value ?? '').replace(/\/$/, '');
      if (v !== '' && v !== expected) problems.push(`${field} differs from the one compiled into this image (${expected})`);
    };
    sameOrEmpty(req.kmsRegion, pinned.region, 'kmsRegion');
    sameOrEmpty(req.kmsKeyId, pinned.kmsKeyArn, 'kmsKeyId');
    sameOrEmpty(req.kmsEndpoint, kmsEndpoint, 'kmsEndpoint');
    sameOrEmpty(req.guardTable, pinned.guardTableArn, 'guardTable');
    sameOrEmpty(req.guardEndpoint, guardEndpoint, 'guardEndpoint');
    kms = { region: pinned.region, endpoint: kmsEndpoint, keyId: pinned.kmsKeyArn, ca: AMAZON_ROOTS, ...(startup.kmsProxy ? { proxy: startup.kmsProxy } : {}) };
    guard = {
      region: pinned.region,
      endpoint: guardEndpoint,
      table: pinned.guardTableArn,
      ca: AMAZON_ROOTS,
      ...(startup.guardProxy ? { proxy: startup.guardProxy } : {}),
    };
  } else {
    const endpointOk = (e: string): boolean => e === '' || HTTPS.test(e) || LOOPBACK_HTTP.test(e);
    if (!REGION.test(req.kmsRegion ?? '')) problems.push('kmsRegion is not an AWS region name');
    if (!isKmsKey(req.kmsKeyId ?? '')) problems.push('kmsKeyId is not a KMS key id or ARN');
    if (startup.pinnedKmsKeyId && req.kmsKeyId !== startup.pinnedKmsKeyId) problems.push('kmsKeyId differs from the key pinned in this image');
    if (!endpointOk(req.kmsEndpoint ?? '')) problems.push('kmsEndpoint must be https, or http on loopback');
    if (!endpointOk(req.guardEndpoint ?? '')) problems.push('guardEndpoint must be https, or http on loopback');
    if (!TABLE_NAME.test(req.guardTable ?? '') && !TABLE_ARN.test(req.guardTable ?? '')) problems.push('guardTable is not a DynamoDB table name or ARN');
    kms = { region: req.kmsRegion ?? '', keyId: req.kmsKeyId ?? '', ...(req.kmsEndpoint ? { endpoint: req.kmsEndpoint } : {}) };
    guard = { region: req.kmsRegion ?? '', table: req.guardTable ?? '', ...(req.guardEndpoint ? { endpoint: req.guardEndpoint } : {}) };
  }
  if (problems.length > 0) throw new EnclaveWalletError('CONFIG_REJECTED', `init refused: ${problems.join('; ')}`);
  return { kms: { ...kms, credentials: credentialsFrom(c!) }, guard: { ...guard, credentialsCiphertext: guardCiphertext } };
}

export function credentialsFrom(c: v1.AwsCredentials.$Properties): AwsCredentials {
  return {
    accessKeyId: c.accessKeyId ?? '',
    secretAccessKey: c.secretAccessKey ?? '',
    ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
    ...(c.expirationMs ? { expiration: new Date(c.expirationMs) } : {}),
  };
}
