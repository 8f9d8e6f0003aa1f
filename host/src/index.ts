export * from './app.js';
export * from './enclave-client.js';
