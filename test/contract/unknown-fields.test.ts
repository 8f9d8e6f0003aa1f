/** A newer peer may add fields; an older one must ignore them, not fail. */
import { v1 } from '@enclave-wallet/proto';

/** Appends fields this schema does not know: a varint (field 99) and a length-delimited one (field 100). */
function withUnknownFields(bytes: Uint8Array): Buffer {
  const extra = Buffer.from([
    0x98,
    0x06,
    0x2a, // field 99, varint 42
    0xa2,
    0x06,
    0x03,
    0x61,
    0x62,
    0x63, // field 100, "abc"
  ]);
  return Buffer.concat([bytes, extra]);
}

test('unknown fields of an envelope are ignored', () => {
  const bytes = v1.HostRequest.encode({ requestId: 5, protocolVersion: 1, getAttestation: { nonce: Uint8Array.of(1, 2) } }).finish();
  const decoded = v1.HostRequest.decode(withUnknownFields(bytes));
  expect(decoded.requestId).toBe(5);
  expect(decoded.operation).toBe('getAttestation');
  expect([...decoded.getAttestation!.nonce!]).toEqual([1, 2]);
});

test('unknown fields inside a nested message are ignored', () => {
  const inner = withUnknownFields(v1.HealthResponse.encode({ initialized: true, uptimeMs: 9 }).finish());
  // Wrap by hand: EnclaveResponse field 1 (request id 3), field 11 (health) with the extended bytes.
  const outer = Buffer.concat([Buffer.from([0x08, 0x03, 0x5a, inner.length]), inner]);
  const decoded = v1.EnclaveResponse.decode(outer);
  expect(decoded.requestId).toBe(3);
  expect(decoded.health).toMatchObject({ initialized: true, uptimeMs: 9 });
});

test('an unknown operation number leaves no operation set, which the server rejects as MALFORMED_REQUEST', () => {
  // Field 50, length-delimited, empty: an operation from the future.
  const decoded = v1.HostRequest.decode(Buffer.from([0x08, 0x07, 0x10, 0x01, 0x92, 0x03, 0x00]));
  expect(decoded.requestId).toBe(7);
  expect(decoded.operation).toBeUndefined();
});
