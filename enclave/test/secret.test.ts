/** SecretBytes: memory of its own (never Node's Buffer pool), zeroed by dispose and `using`, never serialised or printed. */
import { inspect } from 'node:util';
import { SecretBytes } from '../src/secret.js';

test('a secret owns its memory, also when copied, sliced or adopted from a pooled Buffer', () => {
  const pooled = Buffer.from('493817'); // small Buffers share Node's pool
  expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length);
  const s = SecretBytes.adopt(pooled);
  expect(pooled.every((b) => b === 0)).toBe(true);
  for (const x of [s, SecretBytes.copyOf(s), s.slice(1), SecretBytes.alloc(4)]) {
    expect(x).toBeInstanceOf(SecretBytes);
    expect(x.byteOffset).toBe(0);
    expect(x.buffer.byteLength).toBe(x.length);
  }
});

test('dispose and `using` zero it', () => {
  const kept: SecretBytes[] = [];
  {
    using s = SecretBytes.copyOf(new Uint8Array([1, 2, 3]));
    kept.push(s);
    expect([...s]).toEqual([1, 2, 3]);
  }
  expect([...kept[0]!]).toEqual([0, 0, 0]);
  const t = SecretBytes.copyOf(new Uint8Array([9]));
  t.dispose();
  t.dispose();
  expect([...t]).toEqual([0]);
});

test('it refuses to be serialised and prints no byte', () => {
  const s = SecretBytes.copyOf(new TextEncoder().encode('493817'));
  expect(() => JSON.stringify({ pin: s })).toThrow(TypeError);
  expect(String(s)).toBe('[secret 6 bytes]');
  expect(`${s}`).toBe('[secret 6 bytes]');
  expect(inspect({ pin: s })).toBe('{ pin: [secret 6 bytes] }');
  expect(inspect(s)).not.toContain('52');
});
