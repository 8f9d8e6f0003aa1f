/**
 * Verification of AWS Nitro Enclaves attestation documents, following AWS's
 * published process: the COSE_Sign1 structure and payload fields, the
 * certificate chain from a pinned root to the signing certificate (names,
 * signatures, CA flags, path lengths, validity at a chosen time), the ES384
 * signature over the COSE Sig_structure, then the expected PCRs and nonce.
 * See docs/attestation.md. Runs in browsers and Node (no Node built-ins).
 * The parsing is in document.ts, the trust anchor (the pinned root) in roots.ts.
 */
import { equalBytes, fromHex, toHex } from '../proto-copy/bytes.js';
import { p384 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeCbor } from './cbor.js';
import { AttestationError, parseAttestationDocument, type AttestationDocument } from './document.js';
import { AWS_NITRO_ROOT_G1_SHA256, trustedRoot, type RootFingerprint, type TrustedRoot } from './roots.js';
import { CertificateError, parseCertificate, type Certificate } from './x509.js';

export { AttestationError, parseAttestationDocument, type AttestationDocument, type AttestationErrorCode, type ParsedDocument } from './document.js';
export { AWS_NITRO_ROOT_G1_SHA256, isAwsNitroRoot, trustedRoot, type RootFingerprint, type TrustedRoot } from './roots.js';

export interface VerifyOptions {
  root: TrustedRoot;
  /** When certificates must be valid: a date, or 'document' for the document's own timestamp. Default: now. */
  at?: Date | 'document';
  /** PCRs that must match exactly (index → bytes or hex). */
  expectedPcrs?: Record<number, Uint8Array | string>;
  /** The nonce the document must carry. */
  expectedNonce?: Uint8Array;
  /**
   * `production` (the default with root `aws`): the caller must pin PCR0 and
   * give a nonce, a document with all-zero PCRs (debug mode) is refused, and
   * the public key must be present with `publicKeyLength` bytes. `inspect`
   * (the default with a pinned DER root or fingerprint): only the chain, signature and what
   * was asked for are checked, to look at a document, not to trust it.
   */
  policy?: 'production' | 'inspect';
  /** Production policy: the public key's length (default 32, an X25519 envelope key). */
  publicKeyLength?: number;
}

function verifyChain(chain: Certificate[], at: Date): void {
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    if (at < cert.notBefore || at > cert.notAfter) {
      throw new AttestationError(
        'NOT_VALID_AT_TIME',
        `certificate ${i} is valid from ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}, not at ${at.toISOString()}`,
      );
    }
    if (i === 0) continue;
    const issuer = chain[i - 1]!;
    if (!issuer.isCa) throw new AttestationError('BAD_CHAIN', `certificate ${i - 1} is not a CA but issued certificate ${i}`);
    // keyUsage, where present, must allow what each certificate does: CAs sign certificates, the leaf signs the document.
    if (issuer.keyUsage && !issuer.keyUsage.keyCertSign)
      throw new AttestationError('BAD_CHAIN', `certificate ${i - 1} is a CA whose keyUsage does not allow signing certificates`);
    if (!equalBytes(cert.issuer, issuer.subject)) throw new AttestationError('BAD_CHAIN', `certificate ${i} names another issuer than certificate ${i - 1}`);
    if (!p384.verify(cert.signature, cert.tbs, issuer.publicKey, { prehash: true, format: 'der', lowS: false })) {
      throw new AttestationError('BAD_CHAIN', `certificate ${i} is not signed by certificate ${i - 1}`);
    }
  }
  const leaf = chain[chain.length - 1];
  // The document is signed by an end-entity certificate: one that may issue certificates is not a signing leaf.
  if (chain.length > 1 && leaf?.isCa) throw new AttestationError('BAD_CHAIN', 'the signing certificate is a CA (basicConstraints cA), not an end entity');
  if (leaf?.keyUsage && !leaf.keyUsage.digitalSignature)
    throw new AttestationError('BAD_CHAIN', 'the signing certificate’s keyUsage does not allow digital signatures');
  // pathLenConstraint: the number of CA certificates below a CA (the leaf excluded) may not exceed it.
  for (let i = 0; i < chain.length - 1; i++) {
    const limit = chain[i]!.pathLength;
    const below = chain.length - 2 - i;
    if (limit !== undefined && below > limit)
      throw new AttestationError('BAD_CHAIN', `certificate ${i} allows ${limit} intermediate CAs below it, the chain has ${below}`);
  }
}

/**
 * Verifies an attestation document and returns its content.
 *
 * @throws {AttestationError} naming the step that failed
 * @example
 * const doc = verifyAttestationDocument(bytes, { root: 'aws', at: 'document', expectedNonce });
 */
export function verifyAttestationDocument(bytes: Uint8Array, options: VerifyOptions): AttestationDocument {
  const pinnedRoot = trustedRoot(options.root);
  const production = (options.policy ?? (pinnedRoot === 'aws' ? 'production' : 'inspect')) === 'production';
  if (production && (options.expectedPcrs?.[0] === undefined || !options.expectedNonce)) {
    throw new AttestationError(
      'EXPECTATIONS_MISSING',
      'a production check needs the expected PCR0 and a fresh nonce (or policy: inspect to only look at a document)',
    );
  }
  const parsed = parseAttestationDocument(bytes);
  const { document } = parsed;

  let chain: Certificate[];
  try {
    chain = [...document.cabundle, document.certificate].map(parseCertificate);
  } catch (err) {
    if (err instanceof CertificateError) throw new AttestationError('MALFORMED', `bad certificate: ${err.message}`);
    throw err;
  }
  const root = chain[0]!;
  if (pinnedRoot === 'aws') {
    if (toHex(sha256(root.der)) !== AWS_NITRO_ROOT_G1_SHA256) throw new AttestationError('UNTRUSTED_ROOT', 'the chain does not start at the AWS Nitro root G1');
  } else if (pinnedRoot instanceof Uint8Array ? !equalBytes(root.der, pinnedRoot) : toHex(sha256(root.der)) !== (pinnedRoot as RootFingerprint).sha256) {
    // The root it does start at is public: naming it tells a developer which root a stack uses (the local stack's
    // is the `dev root` line `npm start` prints, made anew with a new data folder).
    throw new AttestationError(
      'UNTRUSTED_ROOT',
      `the chain does not start at the pinned root certificate, but at one whose sha256 is ${toHex(sha256(root.der))}`,
    );
  }
  const at = options.at === 'document' ? new Date(document.timestamp) : (options.at ?? new Date());
  verifyChain(chain, at);

  const sigStructure = encodeCbor(['Signature1', parsed.protectedHeader, new Uint8Array(0), parsed.payload]);
  const leaf = chain[chain.length - 1]!;
  if (!p384.verify(parsed.signature, sigStructure, leaf.publicKey, { prehash: true, format: 'compact', lowS: false })) {
    throw new AttestationError('BAD_SIGNATURE', 'the COSE signature does not verify with the document certificate');
  }

  for (const [index, expected] of Object.entries(options.expectedPcrs ?? {})) {
    const want = typeof expected === 'string' ? fromHex(expected) : expected;
    const got = document.pcrs.get(Number(index));
    if (!got || !equalBytes(got, want)) throw new AttestationError('PCR_MISMATCH', `PCR${index} is ${got ? toHex(got) : 'absent'}, expected ${toHex(want)}`);
  }
  if (options.expectedNonce && (!document.nonce || !equalBytes(document.nonce, options.expectedNonce))) {
    throw new AttestationError('NONCE_MISMATCH', 'the document does not carry the expected nonce');
  }
  if (production) {
    const pcr0 = document.pcrs.get(0);
    if (!pcr0 || pcr0.every((b) => b === 0))
      throw new AttestationError('DEBUG_ENCLAVE', 'PCR0 is all zeros: the enclave runs in debug mode, and its memory is readable by the host');
    const length = options.publicKeyLength ?? 32;
    if (!document.publicKey || document.publicKey.length !== length)
      throw new AttestationError('PUBLIC_KEY_INVALID', `the document's public key must be ${length} bytes`);
  }
  return document;
}
