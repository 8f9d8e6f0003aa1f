/** Attestation documents: parsing and verification (browser-safe). */
export * from './verify.js';
export { attestedKdf, type AttestedKdf } from './user-data.js';
export { CborError, decodeCbor, encodeCbor, type CborValue } from './cbor.js';
export { CertificateError, parseCertificate, type Certificate } from './x509.js';
