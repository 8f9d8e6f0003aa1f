import fc from 'fast-check';
import { encodeFrame, FrameDecoder, FrameError, FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from '../src/framing.js';

const payloads = fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 20 });

/** Splits `bytes` at the given cut points (sorted, deduplicated, in range). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let last = 0;
  for (const p of [...points, bytes.length]) {
    parts.push(bytes.subarray(last, p));
    last = p;
  }
  return parts;
}

describe('encodeFrame', () => {
  test('writes a 4-byte big-endian length, then the payload', () => {
    expect(encodeFrame(Uint8Array.from([0xaa, 0xbb, 0xcc])).toString('hex')).toBe('00000003aabbcc');
  });

  test('refuses empty and oversize payloads with typed errors', () => {
    expect(() => encodeFrame(new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'FRAME_EMPTY' }));
    expect(() => encodeFrame(new Uint8Array(11), 10)).toThrow(expect.objectContaining({ code: 'FRAME_TOO_LARGE' }));
  });
});

describe('FrameDecoder', () => {
  test('a byte stream split at any points decodes to the same frames', () => {
    fc.assert(
      fc.property(payloads, fc.array(fc.nat(), { maxLength: 40 }), (items, cuts) => {
        const stream = Buffer.concat(items.map((p) => encodeFrame(p)));
        const decoder = new FrameDecoder();
        const out: Buffer[] = [];
        for (const part of split(stream, cuts)) out.push(...decoder.push(part));
        decoder.end();
        expect(out.map((b) => b.toString('hex'))).toEqual(items.map((p) => Buffer.from(p).toString('hex')));
        expect(decoder.bufferedBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  test('random bytes give frames or a typed FrameError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 10 }), fc.integer({ min: 1, max: 4096 }), (bytes, cuts, max) => {
        const decoder = new FrameDecoder(max);
        try {
          for (const part of split(bytes, cuts)) {
            for (const frame of decoder.push(part)) {
              expect(frame.length).toBeGreaterThan(0);
              expect(frame.length).toBeLessThanOrEqual(max);
            }
          }
          decoder.end();
        } catch (err) {
          expect(err).toBeInstanceOf(FrameError);
          expect(['FRAME_TOO_LARGE', 'FRAME_EMPTY', 'FRAME_TRUNCATED']).toContain((err as FrameError).code);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('an oversize length is refused from its 4 header bytes, before any payload is buffered', () => {
    const decoder = new FrameDecoder(MAX_FRAME_BYTES);
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    header.writeUInt32BE(0xffffffff, 0);
    expect(() => decoder.push(header)).toThrow(expect.objectContaining({ code: 'FRAME_TOO_LARGE' }));
    expect(decoder.bufferedBytes).toBe(0);
    // Once failed, it stays failed: the stream has lost its framing.
    expect(() => decoder.push(encodeFrame(Uint8Array.of(1)))).toThrow(expect.objectContaining({ code: 'FRAME_TOO_LARGE' }));
  });

  test('a zero length is refused', () => {
    expect(() => new FrameDecoder().push(Buffer.alloc(4))).toThrow(expect.objectContaining({ code: 'FRAME_EMPTY' }));
  });

  test('end() inside a frame reports FRAME_TRUNCATED; inside a header too', () => {
    const inFrame = new FrameDecoder();
    expect(inFrame.push(encodeFrame(Uint8Array.of(1, 2, 3)).subarray(0, 6))).toEqual([]);
    expect(() => inFrame.end()).toThrow(expect.objectContaining({ code: 'FRAME_TRUNCATED' }));
    const inHeader = new FrameDecoder();
    inHeader.push(Uint8Array.of(0, 0));
    expect(() => inHeader.end()).toThrow(expect.objectContaining({ code: 'FRAME_TRUNCATED' }));
  });

  test('returned frames are copies that later input cannot change', () => {
    const decoder = new FrameDecoder();
    const chunk = encodeFrame(Uint8Array.of(7, 8, 9));
    const [frame] = decoder.push(chunk);
    chunk.fill(0);
    expect([...frame!]).toEqual([7, 8, 9]);
  });

  test('rejects a nonsensical cap', () => {
    expect(() => new FrameDecoder(0)).toThrow(RangeError);
    expect(() => new FrameDecoder(1.5)).toThrow(RangeError);
  });
});
