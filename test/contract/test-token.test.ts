/** The ERC-20 the chain tests deploy is exactly what its checked-in source compiles to with the pinned solc. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('test/fixtures/erc20/TestToken.json matches a fresh compile of TestToken.sol', () => {
  const out = execFileSync(process.execPath, ['scripts/compile-test-token.mjs', '--check'], { cwd: root, encoding: 'utf8' });
  expect(out).toMatch(/matches a fresh compile/);
}, 60_000);
