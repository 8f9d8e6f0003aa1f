/**
 * A minimal, independent reader of the protobuf wire format (varints and
 * length-delimited fields only, which is all our schema uses), to check
 * golden bytes without the code that wrote them.
 */
export interface WireField {
  number: number;
  wireType: number;
  /** Varint value, or the length-delimited payload. */
  value: bigint | Uint8Array;
}

export function readWire(bytes: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= bytes.length) throw new Error('truncated varint');
      const b = bytes[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('varint too long');
    }
  };
  while (pos < bytes.length) {
    const key = varint();
    const number = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (wireType === 0) fields.push({ number, wireType, value: varint() });
    else if (wireType === 2) {
      const len = Number(varint());
      if (pos + len > bytes.length) throw new Error('truncated field');
      fields.push({ number, wireType, value: bytes.subarray(pos, pos + len) });
      pos += len;
    } else throw new Error(`unexpected wire type ${wireType}`);
  }
  return fields;
}
