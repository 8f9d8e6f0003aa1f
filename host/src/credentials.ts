/**
 * Instance-role credentials for the enclave's KMS calls, from the EC2
 * instance metadata service with IMDSv2 (session token first, then the role's
 * credentials), refreshed before they expire and handed to the enclave.
 */
import { fromInstanceMetadata } from '@smithy/credential-provider-imds';

/** Credentials are refreshed this long before they expire. */
export const REFRESH_MARGIN_MS = 5 * 60_000;

export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: number;
}

export interface ImdsOptions {
  /** Per request (default 2 s). */
  timeoutMs?: number;
}

/**
 * Fetches the instance role's credentials with IMDSv2 only (a session token
 * first; no fallback to IMDSv1), through the AWS SDK's own provider
 * (`@smithy/credential-provider-imds`, what `@aws-sdk/credential-providers`
 * uses on EC2). Its endpoint is the link-local default, or
 * `AWS_EC2_METADATA_SERVICE_ENDPOINT` where set.
 */
export async function fetchRoleCredentials(options: ImdsOptions = {}): Promise<RoleCredentials> {
  const provider = fromInstanceMetadata({ timeout: options.timeoutMs ?? 2000, maxRetries: 1, ec2MetadataV1Disabled: true });
  const c = await provider();
  if (!c.sessionToken || !c.expiration) throw new Error('IMDS returned credentials without a session token or an expiry');
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, expiration: c.expiration.getTime() };
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
