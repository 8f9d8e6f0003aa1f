import express from 'express';
import { randomBytes } from 'node:crypto';
import { weakETag } from '../src/app.js';

test("weakETag gives Express's default (weak) ETag for any body", () => {
  const original = express().get('etag fn') as (body: Buffer | string, encoding?: BufferEncoding) => string;
  const bodies: Array<[Buffer | string, BufferEncoding | undefined]> = [
    [Buffer.alloc(0), undefined],
    ['', 'utf8'],
    ['{"signature":"0x00"}', 'utf8'],
    ['é ✓ 𝄞', 'utf8'],
    [Buffer.from('{"error":{"code":"NOT_FOUND"}}'), undefined],
    ...Array.from({ length: 50 }, (_, i): [Buffer, undefined] => [randomBytes(i * 37), undefined]),
  ];
  for (const [body, encoding] of bodies) expect(weakETag(body, encoding)).toBe(original(body, encoding));
});
