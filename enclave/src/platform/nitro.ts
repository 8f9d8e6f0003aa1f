/**
 * The real Nitro Secure Module. The messages (CBOR, `nsm-messages.ts`) are
 * made and read here in TypeScript; the device is opened with node:fs; the
 * only native code is our own one-ioctl binding, enclave/native/nsm.c,
 * compiled from source in the image's build stage (scripts/build-native.mjs)
 * to enclave/native/nsm.node and loaded only here, only in nitro mode.
 */
import { existsSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { SecretBytes } from '../secret.js';
import { decodeNsm, encodeNsm, variant, type NsmInput, type NsmMap, type NsmValue } from './nsm-messages.js';
import { checkAttestationRequest, PlatformError, type AttestationRequest, type Platform } from './types.js';

/** The NSM device node inside a Nitro Enclave. */
export const NSM_DEVICE = '/dev/nsm';
/** Where the image holds the compiled binding (enclave/native/nsm.node, next to dist/). */
export const NSM_ADDON_PATH = fileURLToPath(new URL('../../native/nsm.node', import.meta.url));
/** The driver's largest answer (NSM_RESPONSE_MAX_SIZE): an attestation document fits. */
export const NSM_RESPONSE_MAX = 0x3000;

/** The binding (enclave/native/nsm.c): one ioctl, writing the answer into `response` and returning its length. */
export interface NsmBinding {
  request(fd: number, request: Uint8Array, response: Uint8Array): number;
}

const PCR_COUNT = 16;

function loadBinding(): NsmBinding {
  try {
    return createRequire(import.meta.url)(NSM_ADDON_PATH) as NsmBinding;
  } catch (err) {
    throw new PlatformError(`cannot load the NSM binding ${NSM_ADDON_PATH}: ${(err as Error).message}`);
  }
}

const isMap = (v: NsmValue | undefined): v is NsmMap => typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);

export class NitroNsm implements Platform {
  readonly mode = 'nitro';
  private readonly binding: NsmBinding;
  private readonly fd: number;

  /**
   * @throws {PlatformError} when /dev/nsm is missing or the binding cannot load
   */
  constructor(
    binding?: NsmBinding,
    deviceExists: (path: string) => boolean = existsSync,
    openDevice: (path: string) => number = (path) => openSync(path, 'r+'),
  ) {
    if (!deviceExists(NSM_DEVICE)) throw new PlatformError(`nitro mode needs ${NSM_DEVICE}; this is not a Nitro Enclave`);
    this.binding = binding ?? loadBinding();
    this.fd = openDevice(NSM_DEVICE);
  }

  /**
   * One request and its answer's fields: the answer must be the same variant
   * (`{ name: { ... } }`); the NSM's `{ Error: code }` becomes a PlatformError.
   */
  private call(name: string, request: NsmInput): NsmMap {
    const response = new Uint8Array(NSM_RESPONSE_MAX);
    let answer: NsmValue;
    try {
      const length = this.binding.request(this.fd, encodeNsm(request), response);
      answer = decodeNsm(response.subarray(0, length));
    } catch (err) {
      throw new PlatformError(`the NSM request ${name} failed: ${(err as Error).message}`);
    } finally {
      response.fill(0); // a GetRandom answer is entropy
    }
    const keys = isMap(answer) ? Object.keys(answer) : [];
    if (isMap(answer) && keys.length === 1 && keys[0] === 'Error') throw new PlatformError(`the NSM refused ${name}: ${String(answer.Error)}`);
    const fields = isMap(answer) && keys.length === 1 ? answer[name] : undefined;
    if (!isMap(fields)) throw new PlatformError(`the NSM answered ${name} with something else`);
    return fields;
  }

  private static bytes(fields: NsmMap, field: string): Uint8Array {
    const value = fields[field];
    if (!(value instanceof Uint8Array)) throw new PlatformError(`the NSM's answer has no ${field} bytes`);
    return value;
  }

  pcrs(): Map<number, Uint8Array> {
    const description = this.call('DescribeNSM', 'DescribeNSM');
    const maxPcrs = description.max_pcrs;
    if (typeof maxPcrs !== 'number') throw new PlatformError("the NSM's description has no max_pcrs");
    const out = new Map<number, Uint8Array>();
    for (let i = 0; i < Math.min(maxPcrs, PCR_COUNT); i++) out.set(i, NitroNsm.bytes(this.call('DescribePCR', variant('DescribePCR', [['index', i]])), 'data'));
    return out;
  }

  random(length: number): Uint8Array {
    const out = SecretBytes.alloc(length);
    for (let filled = 0; filled < length;) {
      const chunk = NitroNsm.bytes(this.call('GetRandom', 'GetRandom'), 'random');
      if (chunk.length === 0) {
        out.fill(0);
        throw new PlatformError('the NSM returned no random bytes');
      }
      const n = Math.min(chunk.length, length - filled);
      out.set(chunk.subarray(0, n), filled);
      chunk.fill(0);
      filled += n;
    }
    return out;
  }

  attest(request: AttestationRequest): Uint8Array {
    checkAttestationRequest(request);
    const b = (v?: Uint8Array): Uint8Array | null => (v ? Uint8Array.from(v) : null);
    const fields = this.call(
      'Attestation',
      variant('Attestation', [
        ['user_data', b(request.userData)],
        ['nonce', b(request.nonce)],
        ['public_key', b(request.publicKey)],
      ]),
    );
    return NitroNsm.bytes(fields, 'document');
  }
}
