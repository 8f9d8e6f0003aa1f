/**
 * The verifier reads certificate extensions as RFC 5280 §4.2 asks: an
 * extension it does not understand that is marked critical makes the
 * certificate unusable, an extension may appear once, and keyUsage (where
 * present) must allow what each certificate does: keyCertSign for a CA,
 * digitalSignature for the certificate that signs the document.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { p384 } from '@noble/curves/nist.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { AttestationError, CertificateError, parseCertificate, verifyAttestationDocument } from '@enclave-wallet/client';
import { DEV_INTERMEDIATE_CN, DEV_ROOT_CN, readDevRoot, SimulatedNsm } from '../../devtools/src/nsm/index.js';
import { buildCertificate, issueCertificate, rawExtension } from '../../devtools/src/nsm/x509-builder.js';
import { ENCLAVE_CODE_DIR } from '../../enclave/src/platform/index.js';

const UNKNOWN_OID = '2b0601040182375402'; // 1.3.6.1.4.1.311.84.2: an extension no verifier here knows
const leaf = (extra: { keyUsageBits?: Uint8Array | null; extraExtensions?: Uint8Array[] }) =>
  issueCertificate({ subject: 'leaf', lifetimeMs: 3600_000, ca: false, ...extra }).certificate;

describe('parsing', () => {
  test('an unknown critical extension is refused; the same extension, not critical, is read past', () => {
    expect(() => parseCertificate(leaf({ extraExtensions: [rawExtension(UNKNOWN_OID, true, Uint8Array.of(0x05, 0x00))] }))).toThrow(
      new CertificateError(`unknown critical extension ${UNKNOWN_OID}`),
    );
    expect(parseCertificate(leaf({ extraExtensions: [rawExtension(UNKNOWN_OID, false, Uint8Array.of(0x05, 0x00))] })).isCa).toBe(false);
  });

  test('an extension may appear only once', () => {
    const bc = rawExtension('551d13', true, Uint8Array.of(0x30, 0x00));
    expect(() => parseCertificate(leaf({ extraExtensions: [bc] }))).toThrow(/extension 551d13 appears twice/);
  });

  test('keyUsage is read bit by bit; a certificate without it allows any usage', () => {
    expect(parseCertificate(leaf({})).keyUsage).toEqual({ digitalSignature: true, keyCertSign: false });
    expect(parseCertificate(issueCertificate({ subject: 'ca', lifetimeMs: 3600_000, ca: true }).certificate).keyUsage).toEqual({
      digitalSignature: false,
      keyCertSign: true,
    });
    expect(parseCertificate(leaf({ keyUsageBits: null })).keyUsage).toBeUndefined();
    expect(() => parseCertificate(leaf({ keyUsageBits: Uint8Array.of(0) }))).toThrow(/at least one usage/);
  });

  test('a cA flag that is not a DER BOOLEAN is refused: an empty one is not true', () => {
    // BasicConstraints { cA BOOLEAN } with no content byte: once read as `true`, which made any leaf a CA.
    const empty = issueCertificate({ subject: 'ca?', lifetimeMs: 3600_000, ca: false, basicConstraints: Uint8Array.of(0x01, 0x00) }).certificate;
    expect(() => parseCertificate(empty)).toThrow(new CertificateError('cA must be a DER BOOLEAN'));
    const notDer = issueCertificate({ subject: 'ca?', lifetimeMs: 3600_000, ca: false, basicConstraints: Uint8Array.of(0x01, 0x01, 0x01) }).certificate;
    expect(() => parseCertificate(notDer)).toThrow(new CertificateError('cA must be a DER BOOLEAN'));
    // The DER forms: TRUE is 0xff; FALSE (0x00, although DER leaves a default out) is read as false.
    expect(
      parseCertificate(issueCertificate({ subject: 'ca', lifetimeMs: 3600_000, ca: false, basicConstraints: Uint8Array.of(0x01, 0x01, 0xff) }).certificate)
        .isCa,
    ).toBe(true);
    expect(
      parseCertificate(issueCertificate({ subject: 'ee', lifetimeMs: 3600_000, ca: false, basicConstraints: Uint8Array.of(0x01, 0x01, 0x00) }).certificate)
        .isCa,
    ).toBe(false);
  });

  test('a critical flag that is not a DER BOOLEAN is refused', () => {
    const bad = Uint8Array.from([0x30, 0x0b, 0x06, 0x03, 0x55, 0x1d, 0x0e, 0x01, 0x01, 0x01, 0x04, 0x01, 0x00]);
    expect(() => parseCertificate(leaf({ extraExtensions: [bad] }))).toThrow(/DER BOOLEAN/);
  });
});

describe('the chain of a document', () => {
  /** A dev CA folder whose intermediate is built with `intermediateKeyUsage`; a simulated NSM on it; and its root. */
  function devCa(
    intermediateKeyUsage: Uint8Array | null | undefined,
    leafOptions?: { keyUsageBits?: Uint8Array | null; extraExtensions?: Uint8Array[]; ca?: boolean; basicConstraints?: Uint8Array },
  ) {
    const dir = mkdtempSync(join(tmpdir(), 'dev-ca-ext-'));
    const rootKey = p384.utils.randomSecretKey();
    const intermediateKey = p384.utils.randomSecretKey();
    const now = Date.now();
    const common = { notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000), ca: true };
    const root = buildCertificate({
      ...common,
      serial: randomBytes(8),
      subject: DEV_ROOT_CN,
      issuer: DEV_ROOT_CN,
      publicKey: p384.getPublicKey(rootKey, false),
      issuerPrivateKey: rootKey,
    });
    const intermediate = buildCertificate({
      ...common,
      serial: randomBytes(8),
      subject: DEV_INTERMEDIATE_CN,
      issuer: DEV_ROOT_CN,
      publicKey: p384.getPublicKey(intermediateKey, false),
      issuerPrivateKey: rootKey,
      pathLength: 0,
      ...(intermediateKeyUsage !== undefined ? { keyUsageBits: intermediateKeyUsage } : {}),
    });
    mkdirSync(dir, { recursive: true });
    const key = (k: Uint8Array, c: Uint8Array) => ({ privateKey: Buffer.from(k).toString('hex'), certificate: Buffer.from(c).toString('base64') });
    writeFileSync(join(dir, 'dev-ca.json'), JSON.stringify({ root: key(rootKey, root), intermediate: key(intermediateKey, intermediate) }));
    writeFileSync(join(dir, 'root.der'), root);
    const nsm = new SimulatedNsm({ codeDirs: [ENCLAVE_CODE_DIR], caDir: dir, ...(leafOptions ? { leaf: leafOptions } : {}) });
    return { nsm, root: readDevRoot(dir) };
  }
  const verify = ({ nsm, root }: ReturnType<typeof devCa>) => {
    const nonce = randomBytes(16);
    return verifyAttestationDocument(nsm.attest({ nonce, publicKey: new Uint8Array(32).fill(1) }), { root, expectedNonce: nonce });
  };
  const failure = (f: () => unknown): { code: string; message: string } => {
    try {
      f();
    } catch (err) {
      if (err instanceof AttestationError) return { code: err.code, message: err.message };
      throw err;
    }
    throw new Error('expected a refusal');
  };

  test('a well-formed chain verifies (the control)', () => {
    expect(verify(devCa(undefined)).publicKey).toHaveLength(32);
  });

  test('an intermediate CA whose keyUsage does not allow keyCertSign cannot issue the signing certificate', () => {
    expect(failure(() => verify(devCa(Uint8Array.of(7, 0x80))))).toEqual({
      code: 'BAD_CHAIN',
      message: 'certificate 1 is a CA whose keyUsage does not allow signing certificates',
    });
    // Without keyUsage at all, a CA may sign (RFC 5280 allows any usage when the extension is absent).
    expect(verify(devCa(null)).publicKey).toHaveLength(32);
  });

  test('a signing certificate whose keyUsage does not allow digital signatures is refused', () => {
    expect(failure(() => verify(devCa(undefined, { keyUsageBits: Uint8Array.of(1, 0x06) })))).toEqual({
      code: 'BAD_CHAIN',
      message: 'the signing certificate’s keyUsage does not allow digital signatures',
    });
  });

  test('a signing certificate that is a CA is refused: the document must be signed by an end entity', () => {
    // keyUsage allows both digitalSignature and keyCertSign, so that only cA decides.
    expect(failure(() => verify(devCa(undefined, { ca: true, keyUsageBits: Uint8Array.of(1, 0x86) })))).toEqual({
      code: 'BAD_CHAIN',
      message: 'the signing certificate is a CA (basicConstraints cA), not an end entity',
    });
    expect(verify(devCa(undefined, { keyUsageBits: Uint8Array.of(1, 0x86) })).publicKey).toHaveLength(32);
  });

  test('a signing certificate whose cA flag is an empty BOOLEAN is refused as malformed', () => {
    expect(failure(() => verify(devCa(undefined, { basicConstraints: Uint8Array.of(0x01, 0x00) })))).toEqual({
      code: 'MALFORMED',
      message: 'bad certificate: cA must be a DER BOOLEAN',
    });
  });

  test('a signing certificate with an unknown critical extension is refused as malformed', () => {
    const out = failure(() => verify(devCa(undefined, { extraExtensions: [rawExtension(UNKNOWN_OID, true, Uint8Array.of(0x05, 0x00))] })));
    expect(out).toEqual({ code: 'MALFORMED', message: `bad certificate: unknown critical extension ${UNKNOWN_OID}` });
  });
});
