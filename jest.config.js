// Jest runs every test of every workspace from the repository root, on the
// TypeScript sources (no build needed), as native ES modules.
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@enclave-wallet/(proto|enclave|host|client|cli|devtools)$': '<rootDir>/$1/src/index.ts',
    '^@enclave-wallet/devtools/nsm$': '<rootDir>/devtools/src/nsm/index.ts',
    '^@enclave-wallet/client/cbor$': '<rootDir>/client/src/attestation/cbor.ts',
    '^@enclave-wallet/proto/labels$': '<rootDir>/proto/src/labels.ts',
    '^@enclave-wallet/proto/recovery-code$': '<rootDir>/proto/src/recovery-code.ts',
    '^@enclave-wallet/proto/bytes$': '<rootDir>/proto/src/bytes.ts',
    '^@enclave-wallet/proto/passkey$': '<rootDir>/proto/src/passkey.ts',
    '^@enclave-wallet/proto/ids$': '<rootDir>/proto/src/ids.ts',
    // Sources import siblings as `./x.js` (NodeNext); map them to `./x.ts` for
    // TypeScript files, and leave real .js files (generated code) alone.
    '^(\\.{1,2}/(?!.*generated/).*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/**/test/**/*.test.ts', '<rootDir>/**/src/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.data/'],
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/', '<rootDir>/scripts/node24/installs/'],
  testTimeout: 30000,
  // One temporary folder for the run, removed at its end (test/support/scratch-setup.js).
  globalSetup: '<rootDir>/test/support/scratch-setup.js',
  globalTeardown: '<rootDir>/test/support/scratch-teardown.js',
};
