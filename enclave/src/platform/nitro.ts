/**
 * The real Nitro Secure Module, through the npm addon
 * `aws-nitro-enclaves-nsm-node` (an optional dependency, loaded only here,
 * only in nitro mode). It talks to /dev/nsm inside the enclave.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { checkAttestationRequest, PlatformError, type AttestationRequest, type Platform } from './types.js';

/** The NSM device node inside a Nitro Enclave. */
export const NSM_DEVICE = '/dev/nsm';
export const NSM_ADDON = 'aws-nitro-enclaves-nsm-node';

/** The addon's functions this code uses. */
export interface NsmAddon {
  open(): number;
  getDescription(fd: number): { maxPcrs: number; moduleId: string };
  getPcrDescription(fd: number, index: number): { data: Buffer };
  getAttestationDoc(fd: number, userData?: Buffer | null, nonce?: Buffer | null, publicKey?: Buffer | null): Buffer;
  getRandom(fd: number): Buffer;
}

const PCR_COUNT = 16;

export class NitroNsm implements Platform {
  readonly mode = 'nitro';
  private readonly fd: number;

  /**
   * @throws {PlatformError} when /dev/nsm is missing or the addon cannot load
   */
  constructor(addon?: NsmAddon, deviceExists: (path: string) => boolean = existsSync) {
    if (!deviceExists(NSM_DEVICE)) throw new PlatformError(`nitro mode needs ${NSM_DEVICE}; this is not a Nitro Enclave`);
    let nsm = addon;
    if (!nsm) {
      try {
        nsm = createRequire(import.meta.url)(NSM_ADDON) as NsmAddon;
      } catch (err) {
        throw new PlatformError(`cannot load ${NSM_ADDON}: ${(err as Error).message}`);
      }
    }
    this.addon = nsm;
    this.fd = nsm.open();
  }

  private readonly addon: NsmAddon;

  pcrs(): Map<number, Uint8Array> {
    const out = new Map<number, Uint8Array>();
    const max = Math.min(this.addon.getDescription(this.fd).maxPcrs, PCR_COUNT);
    for (let i = 0; i < max; i++) out.set(i, new Uint8Array(this.addon.getPcrDescription(this.fd, i).data));
    return out;
  }

  random(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let filled = 0; filled < length;) {
      const chunk = this.addon.getRandom(this.fd);
      if (chunk.length === 0) throw new PlatformError('the NSM returned no random bytes');
      const n = Math.min(chunk.length, length - filled);
      out.set(chunk.subarray(0, n), filled);
      chunk.fill(0);
      filled += n;
    }
    return out;
  }

  attest(request: AttestationRequest): Uint8Array {
    checkAttestationRequest(request);
    const b = (v?: Uint8Array): Buffer | null => (v ? Buffer.from(v) : null);
    return new Uint8Array(this.addon.getAttestationDoc(this.fd, b(request.userData), b(request.nonce), b(request.publicKey)));
  }
}
