/** The enclave's CMS reader on the real KMS CiphertextForRecipient vectors, and its refusals. */
import { readFileSync } from 'node:fs';
import { CmsError, parseCiphertextForRecipient } from '../src/kms/cms.js';

interface Vector {
  name: string;
  cms_hex: string;
  expected_iv_hex: string;
  expected_encrypted_key_hex: string;
  expected_encrypted_content_hex: string;
}
const vectors = (
  JSON.parse(readFileSync(new URL('../../test/fixtures/kms/ciphertext-for-recipient-vectors.json', import.meta.url), 'utf8')) as { vectors: Vector[] }
).vectors;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test.each(vectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
  const parsed = parseCiphertextForRecipient(Buffer.from(v.cms_hex, 'hex'));
  expect(hex(parsed.iv)).toBe(v.expected_iv_hex);
  expect(hex(parsed.encryptedKey)).toBe(v.expected_encrypted_key_hex);
  expect(hex(parsed.encryptedContent)).toBe(v.expected_encrypted_content_hex);
});

test('truncations, trailing bytes and random corruption give CmsError, never anything else', () => {
  const bytes = Buffer.from(vectors[0]!.cms_hex, 'hex');
  for (let cut = 0; cut < bytes.length; cut += 7) expect(() => parseCiphertextForRecipient(bytes.subarray(0, cut))).toThrow(CmsError);
  expect(() => parseCiphertextForRecipient(Buffer.concat([bytes, Buffer.of(0)]))).toThrow(CmsError);
  for (let i = 0; i < 120; i++) {
    const copy = Buffer.from(bytes);
    copy[i]! ^= 0x55;
    try {
      parseCiphertextForRecipient(copy);
    } catch (err) {
      expect(err).toBeInstanceOf(CmsError);
    }
  }
});

test('an algorithm other than RSAES-OAEP-SHA256 / AES-256-CBC is refused', () => {
  const hexText = vectors[1]!.cms_hex;
  // AES-256-CBC OID (…04 01 2a) → AES-128-CBC (…04 01 02).
  expect(() => parseCiphertextForRecipient(Buffer.from(hexText.replace('60864801650304012a', '608648016503040102'), 'hex'))).toThrow(/AES-256-CBC/);
  // SHA-256 (…04 02 01) in the OAEP hash → SHA-384 (…04 02 02), first occurrence only.
  expect(() => parseCiphertextForRecipient(Buffer.from(hexText.replace('608648016503040201', '608648016503040202'), 'hex'))).toThrow(/SHA-256/);
});
