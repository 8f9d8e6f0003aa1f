/**
 * The simulated NSM's development CA: a root and an intermediate, made once
 * and kept under `.data/dev-ca/` so that documents from every run chain to
 * the same dev root (`root.der`, which `--root dev` pins). DEVELOPMENT ONLY:
 * nothing here is trusted by the `aws` root setting of the verifier.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueCertificate, type IssuedKey } from './x509-builder.js';

export type CaKey = IssuedKey;

export interface DevCa {
  root: CaKey;
  intermediate: CaKey;
}

/** Common names of the dev chain; "DEV" and "NOT FOR PRODUCTION" on purpose. */
export const DEV_ROOT_CN = 'enclave-wallet DEV root (NOT FOR PRODUCTION)';
export const DEV_INTERMEDIATE_CN = 'enclave-wallet DEV intermediate (NOT FOR PRODUCTION)';

const FILE = 'dev-ca.json';
const ROOT_DER = 'root.der';

const YEAR_MS = 365 * 86_400_000;

function makeCa(): DevCa {
  const root = issueCertificate({ subject: DEV_ROOT_CN, lifetimeMs: 30 * YEAR_MS, ca: true });
  const intermediate = issueCertificate({
    subject: DEV_INTERMEDIATE_CN,
    issuer: { name: DEV_ROOT_CN, privateKey: root.privateKey },
    lifetimeMs: 10 * YEAR_MS,
    ca: true,
    pathLength: 0,
  });
  return {
    root: { privateKey: root.privateKey, certificate: root.certificate },
    intermediate: { privateKey: intermediate.privateKey, certificate: intermediate.certificate },
  };
}

/** Loads the dev CA from `dir`, creating it the first time. */
export function loadOrCreateDevCa(dir: string): DevCa {
  const file = join(dir, FILE);
  const decode = (text: string): DevCa => {
    const j = JSON.parse(text) as Record<'root' | 'intermediate', { privateKey: string; certificate: string }>;
    const key = (k: { privateKey: string; certificate: string }): CaKey => ({
      privateKey: Uint8Array.from(Buffer.from(k.privateKey, 'hex')),
      certificate: Uint8Array.from(Buffer.from(k.certificate, 'base64')),
    });
    return { root: key(j.root), intermediate: key(j.intermediate) };
  };
  try {
    return decode(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = makeCa();
  const text = JSON.stringify({
    warning: 'Development CA of the simulated NSM. Never trust it in production.',
    root: { privateKey: Buffer.from(ca.root.privateKey).toString('hex'), certificate: Buffer.from(ca.root.certificate).toString('base64') },
    intermediate: {
      privateKey: Buffer.from(ca.intermediate.privateKey).toString('hex'),
      certificate: Buffer.from(ca.intermediate.certificate).toString('base64'),
    },
  });
  try {
    // 'wx': if another process created it meanwhile, use theirs.
    writeFileSync(file, text, { flag: 'wx', mode: 0o600 });
    writeFileSync(join(dir, ROOT_DER), ca.root.certificate);
    return ca;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return decode(readFileSync(file, 'utf8'));
    throw err;
  }
}

/** The dev root certificate (DER) as kept in `dir`. */
export function readDevRoot(dir: string): Uint8Array {
  return new Uint8Array(readFileSync(join(dir, ROOT_DER)));
}
