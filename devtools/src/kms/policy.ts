/**
 * The subset of KMS key-policy evaluation the local endpoint enforces:
 * statements with Effect, Action (exact or wildcard) and Condition blocks
 * using StringEquals / StringEqualsIgnoreCase / StringLike on the Nitro attestation keys
 * `kms:RecipientAttestation:ImageSha384` and `kms:RecipientAttestation:PCR<n>`.
 * Principals are not evaluated (there is no IAM locally); a statement whose
 * condition names an attestation key does not match a request without a
 * valid Recipient. An explicit Deny wins; otherwise one Allow is needed.
 */

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Principal?: unknown;
  Resource?: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface KeyPolicy {
  Version?: string;
  Statement: PolicyStatement[];
}

/** Request facts a condition may test. Attestation keys are present only with a verified Recipient. */
export type RequestContext = Record<string, string>;

const SUPPORTED_OPERATORS = new Set(['StringEquals', 'StringEqualsIgnoreCase', 'StringLike']);

/** IAM StringLike: `*` any run of characters, `?` one character. */
const like = (pattern: string, value: string): boolean =>
  new RegExp(
    '^' +
      pattern
        .split('')
        .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('') +
      '$',
  ).test(value);

function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(
    '^' +
      pattern
        .split('*')
        .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*') +
      '$',
    'i',
  );
  return re.test(action);
}

function conditionHolds(condition: PolicyStatement['Condition'], context: RequestContext): boolean {
  for (const [operator, tests] of Object.entries(condition ?? {})) {
    if (!SUPPORTED_OPERATORS.has(operator)) return false; // unknown operators never grant
    for (const [key, expected] of Object.entries(tests)) {
      const actual = context[key];
      if (actual === undefined) return false;
      const options = Array.isArray(expected) ? expected : [expected];
      const ok =
        operator === 'StringEqualsIgnoreCase'
          ? options.some((e) => e.toLowerCase() === actual.toLowerCase())
          : operator === 'StringLike'
            ? options.some((e) => like(e, actual))
            : options.includes(actual);
      if (!ok) return false;
    }
  }
  return true;
}

/** Whether `action` (e.g. "kms:Decrypt") is allowed under `policy` for this request. */
export function isAllowed(policy: KeyPolicy, action: string, context: RequestContext): boolean {
  let allowed = false;
  for (const s of policy.Statement) {
    const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
    if (!actions.some((a) => actionMatches(a, action))) continue;
    if (!conditionHolds(s.Condition, context)) continue;
    if (s.Effect === 'Deny') return false;
    if (s.Effect === 'Allow') allowed = true;
  }
  return allowed;
}

/** The policy a key gets when CreateKey names none: everything allowed (local development). */
export const OPEN_POLICY: KeyPolicy = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'local-dev-open', Effect: 'Allow', Action: 'kms:*', Principal: '*', Resource: '*' }],
};

/** Checks that a policy document has the shape this evaluator understands. */
export function parsePolicy(text: string): KeyPolicy {
  const policy = JSON.parse(text) as KeyPolicy;
  if (!policy || !Array.isArray(policy.Statement)) throw new Error('policy must have a Statement array');
  for (const s of policy.Statement) {
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw new Error('Effect must be Allow or Deny');
    if (typeof s.Action !== 'string' && !Array.isArray(s.Action)) throw new Error('Action must be a string or a list');
  }
  return policy;
}
