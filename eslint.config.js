// Lint rules, including the trust boundary: `proto/` is the only package the
// host and the enclave share, and neither may import the other or the other's
// libraries.
import tseslint from 'typescript-eslint';

/** Imports the enclave must never make: host code and host-side libraries. */
export const ENCLAVE_FORBIDDEN = {
  paths: [
    { name: 'express', message: 'enclave/ must not depend on host-side libraries' },
    { name: 'jose', message: 'enclave/ must not depend on host-side libraries' },
    { name: 'pino', message: 'enclave/ logs through its own redacting logger' },
    {
      name: '@aws-sdk/client-dynamodb',
      message: 'enclave/ never touches the wallet store; the guard table is reached through enclave/src/guard/dynamodb.ts (see its header)',
    },
    { name: '@aws-sdk/lib-dynamodb', message: 'enclave/ never touches storage' },
    { name: '@enclave-wallet/host', message: 'only @enclave-wallet/proto is shared between host and enclave' },
    { name: '@enclave-wallet/client', message: 'only @enclave-wallet/proto is shared between host and enclave' },
    {
      name: '@enclave-wallet/devtools',
      message: 'development code stays out of the enclave image; only platform/index.ts loads the simulated NSM, by a dynamic import in simulated mode',
    },
    {
      name: '@enclave-wallet/devtools/nsm',
      message: 'development code stays out of the enclave image; only platform/index.ts loads the simulated NSM, by a dynamic import in simulated mode',
    },
  ],
  patterns: [
    { group: ['**/host/**', '**/host', '**/client/**'], message: 'only proto/ is shared between host and enclave' },
    { group: ['**/devtools/**', '**/devtools'], message: 'development code stays out of the enclave image' },
  ],
};

/** Imports the host must never make: enclave code. */
export const HOST_FORBIDDEN = {
  paths: [{ name: '@enclave-wallet/enclave', message: 'only @enclave-wallet/proto is shared between host and enclave' }],
  patterns: [{ group: ['**/enclave/**', '**/enclave'], message: 'only proto/ is shared between host and enclave' }],
};

/** proto/ stands alone: it imports neither side. */
export const PROTO_FORBIDDEN = {
  paths: ['@enclave-wallet/enclave', '@enclave-wallet/host', '@enclave-wallet/client'].map((name) => ({ name, message: 'proto/ imports neither side' })),
  patterns: [{ group: ['**/enclave/**', '**/host/**', '**/client/**'], message: 'proto/ imports neither side' }],
};

/**
 * The SDK is published on its own (`npm pack` of client/, client/README.md): it imports no workspace package, not even
 * proto/ (whose modules it needs are copied into client/src/proto-copy by client/scripts/sync-proto-copy.mjs).
 */
export const CLIENT_FORBIDDEN = {
  paths: ['@enclave-wallet/proto', '@enclave-wallet/enclave', '@enclave-wallet/host', '@enclave-wallet/devtools', '@enclave-wallet/cli'].map((name) => ({
    name,
    message: 'the published SDK depends on no workspace package (client/README.md)',
  })),
  patterns: [
    { group: ['@enclave-wallet/*'], message: 'the published SDK depends on no workspace package (client/README.md)' },
    { group: ['**/proto/**', '**/enclave/**', '**/host/**', '**/devtools/**', '**/cli/**'], message: 'the published SDK ships only client/src' },
  ],
};

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/generated/**', '.data/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-namespace': 'off',
    },
  },
  { files: ['enclave/**/*.ts'], rules: { 'no-restricted-imports': ['error', ENCLAVE_FORBIDDEN] } },
  // The enclave's tests may use the development tools (the simulated NSM, the local KMS, the guard table's set-up); its code may not.
  {
    files: ['enclave/test/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ENCLAVE_FORBIDDEN.paths.filter((p) => !p.name.startsWith('@enclave-wallet/devtools')),
          patterns: ENCLAVE_FORBIDDEN.patterns.filter((p) => !p.group.includes('**/devtools')),
        },
      ],
    },
  },
  { files: ['host/**/*.ts'], rules: { 'no-restricted-imports': ['error', HOST_FORBIDDEN] } },
  { files: ['proto/**/*.ts'], rules: { 'no-restricted-imports': ['error', PROTO_FORBIDDEN] } },
  { files: ['client/src/**/*.ts'], rules: { 'no-restricted-imports': ['error', CLIENT_FORBIDDEN] } },
  {
    files: ['host/demo/**/*.js'],
    languageOptions: { globals: { document: 'readonly', location: 'readonly', fetch: 'readonly', setTimeout: 'readonly', console: 'readonly' } },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        clearTimeout: 'readonly',
      },
    },
  },
);
