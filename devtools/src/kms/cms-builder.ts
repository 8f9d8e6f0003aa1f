/**
 * Writes `CiphertextForRecipient` the way real KMS does (compare
 * test/fixtures/kms): CMS EnvelopedData in BER with indefinite lengths, one
 * KeyTransRecipientInfo (version 2, subjectKeyIdentifier) with RSAES-OAEP
 * (SHA-256, MGF1-SHA-256), and the content under AES-256-CBC as a
 * constructed, chunked OCTET STRING. Development tool.
 */
import { createCipheriv, createHash, publicEncrypt, constants, randomBytes, type KeyObject } from 'node:crypto';

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const der = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.of(tag), len(body.length), body]);
};
/** Indefinite-length constructed element, closed by end-of-contents. */
const ber = (tag: number, ...content: Buffer[]): Buffer => Buffer.concat([Buffer.of(tag, 0x80), ...content, Buffer.of(0, 0)]);
const oid = (hex: string): Buffer => der(0x06, Buffer.from(hex, 'hex'));
const NULL = Buffer.of(0x05, 0x00);

const SHA256_ALG = der(0x30, oid('608648016503040201'), NULL);
const OAEP_ALG = der(0x30, oid('2a864886f70d010107'), der(0x30, der(0xa0, SHA256_ALG), der(0xa1, der(0x30, oid('2a864886f70d010108'), SHA256_ALG))));

/** Size of each chunk of the encrypted content (KMS sends small content in one chunk). */
const CHUNK = 1024;

/** Encrypts `plaintext` to the RSA public key of an attestation document. */
export function buildCiphertextForRecipient(plaintext: Uint8Array, recipient: KeyObject): Uint8Array {
  const cek = randomBytes(32);
  const iv = randomBytes(16);
  try {
    const cipher = createCipheriv('aes-256-cbc', cek, iv);
    const content = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const encryptedKey = publicEncrypt({ key: recipient, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
    const spki = recipient.export({ type: 'spki', format: 'der' });
    const chunks: Buffer[] = [];
    for (let i = 0; i < content.length; i += CHUNK) chunks.push(der(0x04, content.subarray(i, i + CHUNK)));
    const ktri = der(0x30, der(0x02, Buffer.of(2)), der(0x80, createHash('sha256').update(spki).digest()), OAEP_ALG, der(0x04, encryptedKey));
    const encryptedContentInfo = ber(0x30, oid('2a864886f70d010701'), der(0x30, oid('60864801650304012a'), der(0x04, iv)), ber(0xa0, ...chunks));
    const envelopedData = ber(0x30, der(0x02, Buffer.of(2)), der(0x31, ktri), encryptedContentInfo);
    return new Uint8Array(ber(0x30, oid('2a864886f70d010703'), ber(0xa0, envelopedData)));
  } finally {
    cek.fill(0);
  }
}
