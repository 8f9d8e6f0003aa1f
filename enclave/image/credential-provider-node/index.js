'use strict';
// In the enclave image, in place of @aws-sdk/credential-provider-node (scripts/enclave-image-tree.mjs).
// @aws-sdk/client-kms requires this module when it loads, for its default credential chain; the enclave
// always passes the credentials the host handed over (enclave/src/kms/client.ts), so the chain is never
// asked for. If it ever is, it fails instead of reading files, running a credential_process or calling IMDS.
exports.defaultProvider = () => async () => {
  throw new Error('the enclave has no default AWS credential chain: credentials come from the host at init');
};
