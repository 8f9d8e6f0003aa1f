/**
 * The enclave's reader of KMS `CiphertextForRecipient`: a CMS EnvelopedData
 * (RFC 5652) in BER, as real KMS sends it (indefinite lengths, the content as
 * a constructed chunked OCTET STRING or a primitive one), with one
 * KeyTransRecipientInfo using RSAES-OAEP (SHA-256, MGF1-SHA-256) and the
 * content under AES-256-CBC. Anything else is refused.
 */
import { toHex } from '@enclave-wallet/proto/bytes';
import { createDecipheriv, privateDecrypt, constants, type KeyObject } from 'node:crypto';
import { disposeAll, SecretBytes } from '../secret.js';

/** The CMS structure is not what KMS sends. */
export class CmsError extends Error {
  override readonly name = 'CmsError';
}

interface Node {
  tag: number;
  constructed: boolean;
  /** Primitive contents. */
  value: Uint8Array;
  children: Node[];
}

const MAX_DEPTH = 12;

/** Parses one BER element at `pos`; returns it and the position after it. */
function parse(b: Uint8Array, pos: number, depth: number): { node: Node; next: number } {
  if (depth > MAX_DEPTH) throw new CmsError('BER nested too deeply');
  if (pos + 2 > b.length) throw new CmsError('truncated BER');
  const tag = b[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new CmsError('multi-byte tags are not expected');
  const constructed = (tag & 0x20) !== 0;
  let p = pos + 1;
  const first = b[p++]!;
  if (first === 0x80) {
    if (!constructed) throw new CmsError('indefinite length on a primitive element');
    const children: Node[] = [];
    for (;;) {
      if (p + 2 > b.length) throw new CmsError('unterminated indefinite-length element');
      if (b[p] === 0 && b[p + 1] === 0) return { node: { tag, constructed, value: new Uint8Array(0), children }, next: p + 2 };
      const { node, next } = parse(b, p, depth + 1);
      children.push(node);
      p = next;
    }
  }
  let len = first;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n > 4 || p + n > b.length) throw new CmsError('bad BER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p++]!;
  }
  const end = p + len;
  if (end > b.length) throw new CmsError('BER element runs past the input');
  const value = b.subarray(p, end);
  const children: Node[] = [];
  if (constructed) {
    let q = 0;
    while (q < value.length) {
      const { node, next } = parse(value, q, depth + 1);
      children.push(node);
      q = next;
    }
  }
  return { node: { tag, constructed, value, children }, next: end };
}

const OID = {
  envelopedData: '2a864886f70d010703',
  data: '2a864886f70d010701',
  rsaesOaep: '2a864886f70d010107',
  sha256: '608648016503040201',
  mgf1: '2a864886f70d010108',
  // id-aes256-CBC, 2.16.840.1.101.3.4.1.42
  aes256Cbc: '60864801650304012a',
};

function want(node: Node | undefined, tag: number, what: string): Node {
  if (!node || node.tag !== tag) throw new CmsError(`expected ${what}`);
  return node;
}
function oidOf(node: Node | undefined, what: string): string {
  return toHex(want(node, 0x06, what).value);
}
/** OCTET STRING contents, primitive or constructed (chunks concatenated). */
function octets(node: Node): Uint8Array {
  if (!node.constructed) return node.value;
  return Buffer.concat(
    node.children.map((c) => {
      if (c.tag !== 0x04) throw new CmsError('octet string chunk of another type');
      return octets(c);
    }),
  );
}

/** What decryption needs from a CiphertextForRecipient. */
export interface RecipientCiphertext {
  encryptedKey: Uint8Array;
  iv: Uint8Array;
  encryptedContent: Uint8Array;
}

/**
 * Parses a CiphertextForRecipient.
 *
 * @throws {CmsError} for anything but the shape KMS uses
 */
export function parseCiphertextForRecipient(bytes: Uint8Array): RecipientCiphertext {
  const { node: contentInfo, next } = parse(bytes, 0, 0);
  if (next !== bytes.length) throw new CmsError('trailing bytes after the CMS structure');
  const [type, explicit] = want(contentInfo, 0x30, 'ContentInfo').children;
  if (oidOf(type, 'contentType') !== OID.envelopedData) throw new CmsError('not EnvelopedData');
  const envelopedData = want(want(explicit, 0xa0, '[0] content').children[0], 0x30, 'EnvelopedData');
  const [version, recipientInfos, encryptedContentInfo, ...rest] = envelopedData.children;
  want(version, 0x02, 'version');
  if (rest.some((n) => n.tag !== 0xa1)) throw new CmsError('unexpected EnvelopedData fields');
  const infos = want(recipientInfos, 0x31, 'recipientInfos').children;
  if (infos.length !== 1) throw new CmsError('expected exactly one recipient');
  const ktri = want(infos[0], 0x30, 'KeyTransRecipientInfo').children;
  want(ktri[0], 0x02, 'KeyTransRecipientInfo version');
  // ktri[1] is the recipient identifier (subjectKeyIdentifier [0] or issuerAndSerialNumber); not needed.
  const keyAlg = want(ktri[2], 0x30, 'keyEncryptionAlgorithm').children;
  if (oidOf(keyAlg[0], 'key encryption OID') !== OID.rsaesOaep) throw new CmsError('key encryption is not RSAES-OAEP');
  const params = want(keyAlg[1], 0x30, 'RSAES-OAEP parameters').children;
  const hashAlg = params.find((p) => p.tag === 0xa0);
  const mgfAlg = params.find((p) => p.tag === 0xa1);
  if (!hashAlg || oidOf(want(hashAlg.children[0], 0x30, 'hash').children[0], 'hash OID') !== OID.sha256) throw new CmsError('OAEP hash is not SHA-256');
  const mgf = want(mgfAlg?.children[0], 0x30, 'MGF').children;
  if (oidOf(mgf[0], 'MGF OID') !== OID.mgf1 || oidOf(want(mgf[1], 0x30, 'MGF hash').children[0], 'MGF hash OID') !== OID.sha256)
    throw new CmsError('MGF is not MGF1-SHA-256');
  const encryptedKey = want(ktri[3], 0x04, 'encryptedKey').value;

  const [contentType, contentAlg, content] = want(encryptedContentInfo, 0x30, 'EncryptedContentInfo').children;
  if (oidOf(contentType, 'content type') !== OID.data) throw new CmsError('encrypted content is not id-data');
  const alg = want(contentAlg, 0x30, 'contentEncryptionAlgorithm').children;
  if (oidOf(alg[0], 'content encryption OID') !== OID.aes256Cbc) throw new CmsError('content encryption is not AES-256-CBC');
  const iv = want(alg[1], 0x04, 'IV').value;
  if (iv.length !== 16) throw new CmsError('IV must be 16 bytes');
  if (!content || (content.tag !== 0x80 && content.tag !== 0xa0)) throw new CmsError('missing encryptedContent');
  const encryptedContent = content.tag === 0x80 ? content.value : octets({ ...content, constructed: true });
  return { encryptedKey: Uint8Array.from(encryptedKey), iv: Uint8Array.from(iv), encryptedContent: Uint8Array.from(encryptedContent) };
}

/**
 * Decrypts a CiphertextForRecipient with the enclave's RSA private key.
 * The caller disposes of the result. Every intermediate copy of the plaintext
 * (OpenSSL's output buffers) is zeroed, and none goes through Buffer.concat,
 * which would put it in Node's shared pool.
 */
export function decryptCiphertextForRecipient(bytes: Uint8Array, privateKey: KeyObject): SecretBytes {
  const { encryptedKey, iv, encryptedContent } = parseCiphertextForRecipient(bytes);
  const cek = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, encryptedKey);
  let head: Buffer | undefined;
  let tail: Buffer | undefined;
  try {
    const decipher = createDecipheriv('aes-256-cbc', cek, iv);
    head = decipher.update(encryptedContent);
    tail = decipher.final();
    const plaintext = SecretBytes.alloc(head.length + tail.length);
    plaintext.set(head, 0);
    plaintext.set(tail, head.length);
    return plaintext;
  } finally {
    disposeAll(cek, head, tail);
  }
}
