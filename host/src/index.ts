export * from './app.js';
export * from './enclave-client.js';
export * from './config.js';
export * from './auth/oidc.js';
export * from './auth/tokens.js';
export * from './storage/index.js';
export * from './log.js';
export * from './chains/index.js';
