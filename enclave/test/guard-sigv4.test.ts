/**
 * The guard's own Signature Version 4 signer (src/guard/sigv4.ts), checked
 * against two things it does not share code with: AWS's published SigV4 test
 * suite (the POST examples), and AWS's own signer `@smithy/signature-v4` (the
 * one the SDK and, before, the guard used) on random requests of the guard's
 * shape: random bodies, targets, hosts, regions, credentials and dates, with
 * and without a session token. Both must give byte-identical headers.
 */
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { SigV4, amzDate, canonicalValue, type SigV4Credentials } from '../src/guard/sigv4.js';
import { NodeSha256 } from './support/node-sha256.js';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const sha256Hex = (s: string): string => createHash('sha256').update(s).digest('hex');

describe("AWS's SigV4 test suite (aws-sig-v4-test-suite, POST examples)", () => {
  // The suite's credentials, date, region and service.
  const suite = new SigV4({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }, 'us-east-1', 'service');
  const date = amzDate(new Date('2015-08-30T12:36:00Z'));
  const STS_TOKEN =
    'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==';

  test('the date', () => expect(date).toBe('20150830T123600Z'));

  test('post-vanilla', () => {
    expect(suite.authorization(date, 'host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n', 'host;x-amz-date', EMPTY_SHA256)).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
    );
  });

  test('post-x-www-form-urlencoded', () => {
    const payload = sha256Hex('Param1=value1');
    expect(payload).toBe('9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e');
    expect(
      suite.authorization(
        date,
        'content-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n',
        'content-type;host;x-amz-date',
        payload,
      ),
    ).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
    );
  });

  test('post-sts-header-before (the session token signed)', () => {
    expect(
      suite.authorization(
        date,
        `host:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:${STS_TOKEN}\n`,
        'host;x-amz-date;x-amz-security-token',
        EMPTY_SHA256,
      ),
    ).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead',
    );
  });
});

test('header values are canonicalised as SigV4 says (spaces folded and trimmed, line breaks to spaces)', () => {
  expect(canonicalValue('DynamoDB_20120810.UpdateItem')).toBe('DynamoDB_20120810.UpdateItem');
  expect(canonicalValue('  a \t b  ')).toBe('a b');
  expect(canonicalValue('a\r\nb')).toBe('a b');
});

/** What smithy's signer makes of the same request, as the guard's client asked it before. */
async function smithy(signer: SignatureV4, host: string, target: string, body: string, at: Date): Promise<Record<string, string | undefined>> {
  const url = new URL(`https://${host}`);
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'https:',
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: '/',
      query: {},
      headers: { host, 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': target },
      body,
    },
    { signingDate: at },
  );
  return signed.headers;
}

const region = fc.oneof(
  fc.constantFrom('us-east-1', 'eu-west-2', 'ap-southeast-1', 'us-gov-west-1', 'cn-north-1'),
  fc.stringMatching(/^[a-z]{2}-[a-z]{1,10}-[1-9]$/),
);
const printable = fc.string({ unit: fc.constantFrom(...'abcXYZ019+/=_-.:; \t'.split('')), minLength: 1, maxLength: 60 });
const credentials: fc.Arbitrary<SigV4Credentials> = fc.record(
  {
    accessKeyId: fc.stringMatching(/^(AKIA|ASIA)[A-Z0-9]{16}$/),
    // Secrets of AWS's alphabet, and some with any characters (UTF-8 in the key).
    secretAccessKey: fc.oneof(fc.stringMatching(/^[A-Za-z0-9+/]{40}$/), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 50 })),
    sessionToken: fc.oneof(fc.stringMatching(/^[A-Za-z0-9+/=]{16,900}$/), printable),
  },
  { requiredKeys: ['accessKeyId', 'secretAccessKey'] },
);
const target = fc.oneof(
  fc.constantFrom('GetItem', 'PutItem', 'UpdateItem', 'DeleteItem').map((op) => `DynamoDB_20120810.${op}`),
  printable.map((s) => `DynamoDB_20120810.${s}`),
);
const host = fc.oneof(
  region.map((r) => `dynamodb.${r}.amazonaws.com`),
  fc.integer({ min: 1, max: 65535 }).map((p) => `127.0.0.1:${p}`),
  fc.domain(),
);
const body = fc.oneof(
  fc.json(),
  fc.string({ unit: 'grapheme', maxLength: 3000 }),
  fc.constant(''),
  fc.jsonValue().map((v) => JSON.stringify({ TableName: 't', Key: { pk: { S: 'wallet#x' } }, v })),
);
// Any second from 1970 to 2099 (so that days, months and years roll over), and some within a few days (the key cache).
const at = fc.oneof(
  fc.integer({ min: 0, max: 4_102_444_799 }).map((s) => new Date(s * 1000 + (s % 1000))),
  fc.integer({ min: 0, max: 3 * 86_400 }).map((s) => new Date(Date.UTC(2026, 11, 31) + s * 1000)),
);

test('random requests: byte-identical headers to @smithy/signature-v4, with one signer per credentials reused across days', async () => {
  await fc.assert(
    fc.asyncProperty(credentials, region, fc.array(fc.tuple(host, target, body, at), { minLength: 1, maxLength: 8 }), async (creds, reg, requests) => {
      const ours = new SigV4(creds, reg, 'dynamodb');
      const theirs = new SignatureV4({ credentials: { ...creds }, region: reg, service: 'dynamodb', sha256: NodeSha256 });
      for (const [h, t, b, d] of requests) {
        const expected = await smithy(theirs, h, t, b, d);
        const got = ours.signJsonPost(h, t, b, d);
        expect({ ...got }).toEqual(expected);
      }
      ours.destroy();
    }),
    { numRuns: 400 },
  );
});

test('the signed headers are the ones smithy signs for dynamodb: x-amz-content-sha256 included, the token only with one', async () => {
  const at = new Date('2026-12-02T23:59:59.999Z');
  const base = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
  const all: SigV4Credentials[] = [base, { ...base, sessionToken: 'token' }, { ...base, sessionToken: '' }];
  for (const creds of all) {
    const got = new SigV4(creds, 'us-east-1', 'dynamodb').signJsonPost('dynamodb.us-east-1.amazonaws.com', 'DynamoDB_20120810.UpdateItem', '{}', at);
    const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 'dynamodb', sha256: NodeSha256 });
    expect({ ...got }).toEqual(await smithy(signer, 'dynamodb.us-east-1.amazonaws.com', 'DynamoDB_20120810.UpdateItem', '{}', at));
    expect(got['x-amz-date']).toBe('20261202T235959Z');
    expect(got['x-amz-content-sha256']).toBe(sha256Hex('{}'));
    expect(/SignedHeaders=([^,]+)/.exec(got.authorization)![1]).toBe(
      creds.sessionToken
        ? 'content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target'
        : 'content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target',
    );
    expect('x-amz-security-token' in got).toBe(Boolean(creds.sessionToken));
  }
});

test('the secret is kept only as bytes that print as a secret, the session token is not printed, and destroy zeroes them and ends signing', () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
  const token = 'IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN';
  const signer = new SigV4({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: secret, sessionToken: token }, 'us-east-1', 'dynamodb');
  const signed = signer.signJsonPost('h', 'DynamoDB_20120810.GetItem', '{}');
  for (const text of [inspect(signer, { depth: 5, showHidden: true }), JSON.stringify(signed), String(Object.values(signer))]) {
    expect(text).not.toContain(secret);
    expect(text).not.toContain(secret.slice(0, 12));
  }
  for (const text of [inspect(signer), inspect({ nested: signer }, { depth: 5 }), JSON.stringify(signer), JSON.stringify({ nested: signer })]) {
    expect(text).not.toContain(secret.slice(0, 12));
    expect(text).not.toContain(token.slice(0, 12));
    expect(text).toContain('AKIDEXAMPLE');
  }
  const kept = Object.values(signer).filter((v): v is Uint8Array => v instanceof Uint8Array);
  expect(kept).toHaveLength(2); // AWS4<secret> and the day's signing key
  signer.destroy();
  for (const k of kept) expect(k.every((b) => b === 0)).toBe(true);
  expect(() => signer.signJsonPost('h', 'DynamoDB_20120810.GetItem', '{}')).toThrow(/destroyed/);
});
