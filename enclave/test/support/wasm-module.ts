/**
 * Checks shared by the tests of the enclave's generated WebAssembly modules (enclave/scripts/*-wasm.mjs).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The generator's `--check` passes: the committed text and base64 binary are what it writes. */
export function expectGenerated(generator: string): void {
  const script = fileURLToPath(new URL(`../../scripts/${generator}`, import.meta.url));
  expect(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' })).not.toThrow();
}

/**
 * A curve module's text (enclave/src/signing/`wat`) has no branch on a value (no if, select or br_table), and the
 * scalar's nibble is used once, in the table pick's comparison, never as an address.
 */
export function expectNoValueBranches(wat: string): void {
  const text = readFileSync(fileURLToPath(new URL(`../../src/signing/${wat}`, import.meta.url)), 'utf8');
  expect(text).not.toMatch(/\((if|select|br_table)\b/);
  expect(text.match(/local\.get \$nibble/g)).toEqual(['local.get $nibble']);
  expect(text).toContain('(i32.eq (local.get $j) (local.get $nibble))');
}
