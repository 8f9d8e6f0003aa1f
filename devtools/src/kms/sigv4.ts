/**
 * Verification of AWS Signature Version 4 on requests to the local KMS, so
 * the unmodified AWS SDK talks to it exactly as to AWS. Development tool.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export class SigV4Error extends Error {
  constructor(
    readonly type: 'UnrecognizedClientException' | 'InvalidSignatureException' | 'MissingAuthenticationTokenException',
    message: string,
  ) {
    super(message);
  }
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();
const sha256hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** Verifies the Authorization header of a request; `secrets` maps access key ids to secret keys. */
export function verifySigV4(
  method: string,
  path: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
  secrets: ReadonlyMap<string, string>,
): { accessKeyId: string } {
  const auth = headers.authorization;
  if (!auth) throw new SigV4Error('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) throw new SigV4Error('InvalidSignatureException', 'malformed Authorization header');
  const [, accessKeyId, date, region, service, signedHeaders, signature] = m as unknown as string[];
  const secret = secrets.get(accessKeyId!);
  if (secret === undefined) throw new SigV4Error('UnrecognizedClientException', 'The security token included in the request is invalid.');
  const amzDate = headers['x-amz-date'];
  if (typeof amzDate !== 'string' || !amzDate.startsWith(date!)) throw new SigV4Error('InvalidSignatureException', 'X-Amz-Date missing or inconsistent');
  const names = signedHeaders!.split(';');
  if (!names.includes('host')) throw new SigV4Error('InvalidSignatureException', 'host must be signed');
  const canonicalHeaders = names
    .map((n) => {
      const v = headers[n];
      const value = Array.isArray(v) ? v.join(',') : (v ?? '');
      return `${n}:${value.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const [pathname, query = ''] = path.split('?');
  const canonicalQuery = query.split('&').filter(Boolean).sort().join('&');
  const canonicalRequest = [method, pathname, canonicalQuery, canonicalHeaders, signedHeaders, sha256hex(body)].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), 'aws4_request');
  const expected = hmac(key, stringToSign);
  if (!timingSafeEqual(expected, Buffer.from(signature!, 'hex'))) {
    throw new SigV4Error('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided.');
  }
  return { accessKeyId: accessKeyId! };
}
