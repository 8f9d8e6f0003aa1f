#!/usr/bin/env node
// Compiles test/fixtures/erc20/TestToken.sol with the pinned solc (a development dependency) and writes
// test/fixtures/erc20/TestToken.json: the ABI and the creation bytecode the chain tests deploy on anvil.
// `node scripts/compile-test-token.mjs --check` compiles and compares instead (test/contract/test-token.test.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'test/fixtures/erc20');
const solc = createRequire(import.meta.url)('solc');
export const SETTINGS = { optimizer: { enabled: true, runs: 200 }, evmVersion: 'shanghai', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } };

export function compile() {
  const input = { language: 'Solidity', sources: { 'TestToken.sol': { content: readFileSync(join(dir, 'TestToken.sol'), 'utf8') } }, settings: SETTINGS };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const c = out.contracts['TestToken.sol'].TestToken;
  return {
    compiler: `solc ${solc.version()}`,
    settings: { optimizer: SETTINGS.optimizer, evmVersion: SETTINGS.evmVersion },
    abi: c.abi,
    bytecode: `0x${c.evm.bytecode.object}`,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const artifact = `${JSON.stringify(compile(), null, 2)}\n`;
  const file = join(dir, 'TestToken.json');
  if (process.argv.includes('--check')) {
    if (readFileSync(file, 'utf8') !== artifact) {
      console.error('test/fixtures/erc20/TestToken.json differs from a fresh compile: run node scripts/compile-test-token.mjs');
      process.exit(1);
    }
    console.log('TestToken.json matches a fresh compile');
  } else {
    writeFileSync(file, artifact);
    console.log(`wrote ${file}`);
  }
}
