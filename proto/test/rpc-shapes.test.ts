/**
 * The RPC server's answers have one shape whatever their operation (rpc-server.ts): V8 then compiles the answer's
 * path once, instead of again for each operation first answered after it was optimised. Checked in a child process
 * with V8's natives syntax (`%HaveSameMap`), on the build (`npm test` builds first, as for the other tests that run
 * the build).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./support/rpc-shapes-child.mjs', import.meta.url));

test('answers of every operation, errors and refusals share one V8 map, and list the schema’s fields in its order', () => {
  const out = JSON.parse(execFileSync(process.execPath, ['--allow-natives-syntax', CHILD], { encoding: 'utf8' })) as {
    answers: number;
    frames: number;
    sameMap: boolean;
    keys: string[];
    schemaFields: string[];
  };
  // 15 operations twice each (with and without a trace id), a wrong version and no operation: every one answered.
  expect([out.answers, out.frames]).toEqual([32, 32]);
  expect(out.keys).toEqual(out.schemaFields);
  expect(out.sameMap).toBe(true);
});
