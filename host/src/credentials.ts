/**
 * Instance-role credentials for the enclave's KMS calls, from the EC2
 * instance metadata service with IMDSv2 (session token first, then the role's
 * credentials), refreshed before they expire and handed to the enclave.
 */

/** The link-local IMDS endpoint. */
export const IMDS_ENDPOINT = 'http://169.254.169.254';
/** Credentials are refreshed this long before they expire. */
export const REFRESH_MARGIN_MS = 5 * 60_000;
const TOKEN_TTL_S = 21_600;

export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: number;
}

export interface ImdsOptions {
  endpoint?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** Fetches the instance role's credentials with IMDSv2. */
export async function fetchRoleCredentials(options: ImdsOptions = {}): Promise<RoleCredentials> {
  const base = options.endpoint ?? IMDS_ENDPOINT;
  const f = options.fetch ?? fetch;
  const signal = AbortSignal.timeout(options.timeoutMs ?? 2000);
  const tokenRes = await f(`${base}/latest/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_S) }, signal });
  if (!tokenRes.ok) throw new Error(`IMDSv2 token request failed (${tokenRes.status})`);
  const token = await tokenRes.text();
  const headers = { 'X-aws-ec2-metadata-token': token };
  const roleRes = await f(`${base}/latest/meta-data/iam/security-credentials/`, { headers, signal });
  if (!roleRes.ok) throw new Error(`no instance role (${roleRes.status})`);
  const role = (await roleRes.text()).split('\n')[0]!.trim();
  if (!/^[\w+=,.@-]{1,128}$/.test(role)) throw new Error('IMDS returned an unexpected role name');
  const credRes = await f(`${base}/latest/meta-data/iam/security-credentials/${encodeURIComponent(role)}`, { headers, signal });
  if (!credRes.ok) throw new Error(`role credentials request failed (${credRes.status})`);
  const c = (await credRes.json()) as { Code?: string; AccessKeyId?: string; SecretAccessKey?: string; Token?: string; Expiration?: string };
  if (c.Code !== 'Success' || !c.AccessKeyId || !c.SecretAccessKey || !c.Token || !c.Expiration) throw new Error('IMDS returned incomplete credentials');
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.Token, expiration: Date.parse(c.Expiration) };
}

/**
 * Keeps the current credentials and refreshes them before expiry, calling
 * `onRefresh` (which hands them to the enclave) each time. Failed refreshes
 * are retried every 30 s while the old credentials are still valid.
 */
export class CredentialRefresher {
  private current: RoleCredentials | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly load: () => Promise<RoleCredentials>,
    private readonly onRefresh: (c: RoleCredentials) => Promise<void>,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** The latest credentials (loads them the first time). */
  async get(): Promise<RoleCredentials> {
    if (!this.current) await this.refresh();
    return this.current!;
  }

  /** Loads now, hands over, and schedules the next refresh. */
  async refresh(): Promise<void> {
    const creds = await this.load();
    this.current = creds;
    await this.onRefresh(creds).catch(this.onError);
    this.schedule(Math.max(1000, creds.expiration - REFRESH_MARGIN_MS - this.now()));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.refresh().catch((err: unknown) => {
        this.onError(err);
        this.schedule(30_000);
      });
    }, delayMs);
    this.timer.unref();
  }
}
