/**
 * The simulated NSM: a development stand-in for the Nitro Secure Module that
 * issues attestation documents in exactly the real format (untagged
 * COSE_Sign1, ES384 raw r‖s signature, the same payload fields and types),
 * signed by a per-process leaf certificate under the local dev CA.
 *
 * PCR0 is a SHA-384 measurement of the enclave's own code, so changing the
 * code changes PCR0 as rebuilding an image does on Nitro. NEVER USE IN
 * PRODUCTION: it lives in devtools/, which the enclave image does not hold;
 * the enclave loads it (dynamic import) only in simulated mode, and
 * createPlatform refuses it where a real NSM exists or in a production build
 * without an explicit, loudly named override.
 */
import { p384 } from '@noble/curves/nist.js';
import { sha384 } from '@noble/hashes/sha2.js';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { encodeCbor, type CborValue } from '@enclave-wallet/client/cbor';
import { DEV_INTERMEDIATE_CN, loadOrCreateDevCa, type DevCa } from './dev-ca.js';
import { checkAttestationRequest, type AttestationRequest, type Platform } from '@enclave-wallet/enclave';
import { issueCertificate } from './x509-builder.js';

/** Lifetime of a leaf certificate (Nitro's are about three hours). */
const LEAF_LIFETIME_MS = 3 * 3600_000;
/** A leaf is replaced this long before it expires. */
const LEAF_RENEW_MARGIN_MS = 10 * 60_000;
const PCR_COUNT = 16;

/**
 * SHA-384 over the files of a code tree (sorted relative paths, each with its
 * length and content), so any change to the code changes the value.
 */
export function measureCode(dirs: string[]): Uint8Array {
  const h = sha384.create();
  for (const dir of dirs) {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const entry of readdirSync(d).sort()) {
        const path = join(d, entry);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.(js|mjs|ts|json)$/.test(entry) && !/\.(test|d)\.ts$/.test(entry) && !entry.endsWith('.map')) files.push(path);
      }
    };
    walk(dir);
    for (const file of files) {
      const content = readFileSync(file);
      h.update(new TextEncoder().encode(`${relative(dir, file)}\n${content.length}\n`));
      h.update(content);
    }
  }
  return h.digest();
}

export interface SimulatedNsmOptions {
  /** Folder of the dev CA (created there once). */
  caDir: string;
  /** Code measured into PCR0: the enclave's own (it passes its folder when it loads this module). */
  codeDirs: string[];
  /** Clock, for tests. */
  now?: () => number;
  /** Every PCR reads as zeros, as in an enclave started with `nitro-cli run-enclave --debug-mode`. */
  debugMode?: boolean;
  /**
   * For tests of verifiers: the leaf certificate's keyUsage bits (null: none), extra raw extensions, a leaf
   * that is a CA, or raw BasicConstraints contents.
   */
  leaf?: { keyUsageBits?: Uint8Array | null; extraExtensions?: Uint8Array[]; ca?: boolean; basicConstraints?: Uint8Array };
}

export class SimulatedNsm implements Platform {
  readonly mode = 'simulated';
  private readonly ca: DevCa;
  private readonly pcrValues: Map<number, Uint8Array>;
  private readonly moduleId: string;
  private readonly now: () => number;
  private leaf: { privateKey: Uint8Array; certificate: Uint8Array; notAfter: number } | undefined;
  private readonly leafOptions: SimulatedNsmOptions['leaf'];

  constructor(options: SimulatedNsmOptions) {
    this.ca = loadOrCreateDevCa(options.caDir);
    this.now = options.now ?? Date.now;
    this.moduleId = `i-00000000000000000-enc${bytesToHex(randomBytes(8))}`;
    const pcrs = new Map<number, Uint8Array>();
    for (let i = 0; i < PCR_COUNT; i++) pcrs.set(i, new Uint8Array(48));
    pcrs.set(0, measureCode(options.codeDirs));
    pcrs.set(1, sha384(new TextEncoder().encode(`enclave-wallet simulated kernel+bootstrap; node ${process.version}`)));
    pcrs.set(2, sha384(new TextEncoder().encode(`enclave-wallet simulated application; ${process.platform}-${process.arch}`)));
    if (options.debugMode) for (const i of pcrs.keys()) pcrs.set(i, new Uint8Array(48));
    this.pcrValues = pcrs;
    this.leafOptions = options.leaf;
  }

  pcrs(): Map<number, Uint8Array> {
    return new Map([...this.pcrValues].map(([k, v]) => [k, Uint8Array.from(v)]));
  }

  /** The dev root (DER) that documents chain to. */
  get rootCertificate(): Uint8Array {
    return this.ca.root.certificate;
  }

  /** SIMULATED: the NSM's random source is this process's CSPRNG. */
  random(length: number): Uint8Array {
    return randomBytes(length);
  }

  attest(request: AttestationRequest): Uint8Array {
    checkAttestationRequest(request);
    const leaf = this.currentLeaf();
    const payload = encodeCbor(
      new Map<CborValue, CborValue>([
        ['module_id', this.moduleId],
        ['digest', 'SHA384'],
        ['timestamp', this.now()],
        ['pcrs', new Map([...this.pcrValues])],
        ['certificate', leaf.certificate],
        ['cabundle', [this.ca.root.certificate, this.ca.intermediate.certificate]],
        ['public_key', request.publicKey ?? null],
        ['user_data', request.userData ?? null],
        ['nonce', request.nonce ?? null],
      ]),
    );
    const protectedHeader = encodeCbor(new Map([[1, -35]]));
    const sigStructure = encodeCbor(['Signature1', protectedHeader, new Uint8Array(0), payload]);
    const signature = p384.sign(sigStructure, leaf.privateKey, { prehash: true, format: 'compact' });
    return encodeCbor([protectedHeader, new Map(), payload, signature]);
  }

  private currentLeaf(): { privateKey: Uint8Array; certificate: Uint8Array } {
    const now = this.now();
    if (!this.leaf || now > this.leaf.notAfter - LEAF_RENEW_MARGIN_MS) {
      this.leaf = issueCertificate({
        subject: this.moduleId,
        issuer: { name: DEV_INTERMEDIATE_CN, privateKey: this.ca.intermediate.privateKey },
        lifetimeMs: LEAF_LIFETIME_MS,
        ca: false,
        now,
        ...this.leafOptions,
      });
    }
    return this.leaf;
  }
}
