#!/usr/bin/env node
// The `enclave-wallet` command. The code lives in ../dist (built by `npm run build`,
// which `npm install` runs through the root `prepare` script).
try {
  const { main } = await import('../dist/index.js');
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/')) {
    console.error('enclave-wallet is not built yet: run `npm run build` in the repository root');
    process.exitCode = 2;
  } else {
    throw err;
  }
}
