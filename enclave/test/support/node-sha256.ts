/**
 * SHA-256 and HMAC-SHA256 from node:crypto in the shape `@smithy/signature-v4`
 * takes (its `sha256` option): what the guard's client passed to that signer
 * before it signed with its own (src/guard/sigv4.ts). The tests sign with
 * smithy's signer to check ours against it.
 */
import { createHash, createHmac, type BinaryLike } from 'node:crypto';

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: SourceData): BinaryLike =>
  typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);

export class NodeSha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {}
}
