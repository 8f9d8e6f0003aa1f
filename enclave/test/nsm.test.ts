/**
 * The NSM binding, as far as a machine without /dev/nsm allows: the request
 * bytes against the serde_cbor encoding of aws-nitro-enclaves-nsm-api's
 * `Request` enum (written out by hand, and read back by cborg, an independent
 * CBOR library), answers encoded by cborg read back, malformed answers
 * refused, NitroNsm over a stand-in device (a unit-test mock of the one ioctl),
 * and our C addon compiled here and driven up to the kernel: the ioctl number
 * is the driver's and reaches a real file descriptor (which is not an NSM).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode as cborgDecode, encode as cborgEncode } from 'cborg';
import { NitroNsm, NSM_RESPONSE_MAX, type NsmBinding } from '../src/platform/nitro.js';
import { decodeNsm, encodeNsm, variant } from '../src/platform/nsm-messages.js';
import { PlatformError } from '../src/platform/types.js';

const text = (s: string): number[] => [...Buffer.from(s)];
const textHead = (s: string): number[] => [0x60 + s.length, ...text(s)];
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('requests: the serde_cbor encoding of the NSM API', () => {
  test('a unit variant is its name; a struct variant a map of its fields in declaration order', () => {
    expect(hex(encodeNsm('GetRandom'))).toBe(hex(Uint8Array.from(textHead('GetRandom'))));
    expect(hex(encodeNsm('DescribeNSM'))).toBe(hex(Uint8Array.from(textHead('DescribeNSM'))));
    expect(hex(encodeNsm(variant('DescribePCR', [['index', 3]])))).toBe(
      hex(Uint8Array.from([0xa1, ...textHead('DescribePCR'), 0xa1, ...textHead('index'), 0x03])),
    );
    const attestation = encodeNsm(
      variant('Attestation', [
        ['user_data', null],
        ['nonce', Uint8Array.of(1, 2)],
        ['public_key', null],
      ]),
    );
    expect(hex(attestation)).toBe(
      hex(
        Uint8Array.from([
          0xa1,
          ...textHead('Attestation'),
          0xa3,
          ...textHead('user_data'),
          0xf6,
          ...textHead('nonce'),
          0x42,
          1,
          2,
          ...textHead('public_key'),
          0xf6,
        ]),
      ),
    );
    expect(cborgDecode(attestation)).toEqual({ Attestation: { user_data: null, nonce: Uint8Array.of(1, 2), public_key: null } });
  });

  test('lengths and integers take the shortest head (as serde_cbor writes them)', () => {
    for (const n of [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1]) expect(hex(encodeNsm(n))).toBe(hex(cborgEncode(n)));
    for (const len of [0, 23, 24, 255, 256, 1024, 70000]) {
      const bytes = new Uint8Array(len).fill(7);
      expect(hex(encodeNsm(bytes))).toBe(hex(cborgEncode(bytes)));
    }
    expect(() => encodeNsm(-1)).toThrow(RangeError);
    expect(() => encodeNsm(2 ** 32)).toThrow(RangeError);
  });
});

describe('answers', () => {
  test('read back what cborg encodes: every Response variant the enclave uses', () => {
    const random = new Uint8Array(256).map((_, i) => i);
    expect(decodeNsm(cborgEncode({ GetRandom: { random } }))).toEqual({ GetRandom: { random } });
    expect(decodeNsm(cborgEncode({ DescribePCR: { lock: true, data: new Uint8Array(48).fill(1) } }))).toEqual({
      DescribePCR: { lock: true, data: new Uint8Array(48).fill(1) },
    });
    const nsm = {
      DescribeNSM: {
        version_major: 1,
        version_minor: 0,
        version_patch: 0,
        module_id: 'i-0abc-enc0123',
        max_pcrs: 32,
        locked_pcrs: [0, 1, 2, 3, 4],
        digest: 'SHA384',
      },
    };
    expect(decodeNsm(cborgEncode(nsm))).toEqual(nsm);
    expect(decodeNsm(cborgEncode({ Attestation: { document: new Uint8Array(5000).fill(9) } }))).toEqual({
      Attestation: { document: new Uint8Array(5000).fill(9) },
    });
    expect(decodeNsm(cborgEncode({ Error: 'InvalidArgument' }))).toEqual({ Error: 'InvalidArgument' });
  });

  test.each([
    ['truncated', Uint8Array.of(0x58, 0x20, 1, 2)],
    ['bytes after the value', Uint8Array.of(0x01, 0x02)],
    ['an indefinite length', Uint8Array.of(0x5f, 0x41, 0x00, 0xff)],
    ['a tag', Uint8Array.of(0xc0, 0x01)],
    ['a negative integer', Uint8Array.of(0x20)],
    ['a float', Uint8Array.of(0xf9, 0x3c, 0x00)],
    ['a byte-string map key', Uint8Array.of(0xa1, 0x41, 0x00, 0x01)],
    ['a duplicate key', Uint8Array.of(0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02)],
    ['invalid UTF-8', Uint8Array.of(0x61, 0xff)],
    ['nesting too deep', Uint8Array.from([...new Array(20).fill(0x81), 0x01])],
    ['an integer above 2^53', Uint8Array.of(0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)],
  ])('refuses %s', (_, bytes) => {
    expect(() => decodeNsm(bytes)).toThrow(/^CBOR: /);
  });

  test('a key named __proto__ is an ordinary key', () => {
    const answer = decodeNsm(Uint8Array.from([0xa1, ...textHead('__proto__'), 0x01])) as Record<string, unknown>;
    expect(Object.getPrototypeOf(answer)).toBeNull();
    expect(answer['__proto__']).toBe(1);
  });
});

/** A stand-in for the device behind the ioctl: decodes each request with cborg and answers as the NSM does. */
function standIn(answer: (request: unknown) => unknown): NsmBinding & { requests: unknown[]; buffers: Uint8Array[] } {
  const requests: unknown[] = [];
  const buffers: Uint8Array[] = [];
  return {
    requests,
    buffers,
    request(fd, request, response) {
      expect(fd).toBe(42);
      expect(response.length).toBe(NSM_RESPONSE_MAX);
      const decoded = cborgDecode(request);
      requests.push(decoded);
      buffers.push(response);
      const bytes = cborgEncode(answer(decoded));
      response.set(bytes);
      return bytes.length;
    },
  };
}

describe('NitroNsm over a stand-in device', () => {
  const open = (): NitroNsm =>
    new NitroNsm(
      binding,
      () => true,
      () => 42,
    );
  let binding: ReturnType<typeof standIn>;

  test('pcrs: DescribeNSM, then DescribePCR for each index up to 16', () => {
    binding = standIn((r) =>
      r === 'DescribeNSM'
        ? { DescribeNSM: { version_major: 1, version_minor: 0, version_patch: 0, module_id: 'm', max_pcrs: 32, locked_pcrs: [], digest: 'SHA384' } }
        : { DescribePCR: { lock: true, data: new Uint8Array(48).fill((r as { DescribePCR: { index: number } }).DescribePCR.index) } },
    );
    const pcrs = open().pcrs();
    expect([...pcrs.keys()]).toEqual([...Array(16).keys()]);
    expect(pcrs.get(7)).toEqual(new Uint8Array(48).fill(7));
    expect(binding.requests.slice(0, 3)).toEqual(['DescribeNSM', { DescribePCR: { index: 0 } }, { DescribePCR: { index: 1 } }]);
  });

  test('random: as many GetRandom requests as it takes, and every answer buffer zeroed afterwards', () => {
    let n = 0;
    binding = standIn(() => ({ GetRandom: { random: new Uint8Array(32).fill(++n) } }));
    const out = open().random(80);
    expect(binding.requests).toEqual(['GetRandom', 'GetRandom', 'GetRandom']);
    expect(out).toEqual(Uint8Array.from([...new Array(32).fill(1), ...new Array(32).fill(2), ...new Array(16).fill(3)]));
    for (const b of binding.buffers) expect(b.every((x) => x === 0)).toBe(true);
  });

  test('attest: the three optional fields, absent ones as null; the document comes back', () => {
    binding = standIn(() => ({ Attestation: { document: Uint8Array.of(0xd2, 0x84) } }));
    const doc = open().attest({ nonce: new Uint8Array(32).fill(5), publicKey: new Uint8Array(32).fill(6) });
    expect(doc).toEqual(Uint8Array.of(0xd2, 0x84));
    expect(binding.requests).toEqual([{ Attestation: { user_data: null, nonce: new Uint8Array(32).fill(5), public_key: new Uint8Array(32).fill(6) } }]);
  });

  test('an NSM error, another variant, or an empty random answer is a PlatformError', () => {
    binding = standIn(() => ({ Error: 'InvalidOperation' }));
    expect(() => open().random(8)).toThrow(new PlatformError('the NSM refused GetRandom: InvalidOperation'));
    binding = standIn(() => ({ DescribePCR: { lock: false, data: new Uint8Array(48) } }));
    expect(() => open().attest({})).toThrow(/answered Attestation with something else/);
    binding = standIn(() => ({ GetRandom: { random: new Uint8Array(0) } }));
    expect(() => open().random(8)).toThrow(/no random bytes/);
  });

  test('no /dev/nsm: refused before any binding loads', () => {
    expect(() => new NitroNsm(undefined, () => false)).toThrow(/nitro mode needs \/dev\/nsm/);
  });
});

describe('the C addon (enclave/native/nsm.c), compiled here', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-addon-'));
  const addonPath = join(dir, 'nsm.node');
  let addon: NsmBinding & { IOCTL_RAW: number; REQUEST_MAX_SIZE: number; RESPONSE_MAX_SIZE: number };

  beforeAll(() => {
    const script = fileURLToPath(new URL('../../scripts/build-native.mjs', import.meta.url));
    const run = spawnSync(process.execPath, [script, 'nsm', addonPath], { encoding: 'utf8' });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    addon = createRequire(import.meta.url)(addonPath) as typeof addon;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("its ioctl is the driver's NSM_IOCTL_RAW = _IOWR(0x0A, 0, struct nsm_raw of 32 bytes), with the driver's size limits", () => {
    const IOC_READ_WRITE = 3;
    expect(addon.IOCTL_RAW).toBe(((IOC_READ_WRITE << 30) | (32 << 16) | (0x0a << 8) | 0) >>> 0);
    expect(addon.IOCTL_RAW).toBe(0xc0200a00);
    expect([addon.REQUEST_MAX_SIZE, addon.RESPONSE_MAX_SIZE]).toEqual([0x1000, NSM_RESPONSE_MAX]);
  });

  test('the ioctl reaches the kernel: a file that is not the NSM answers ENOTTY, a closed descriptor EBADF', () => {
    const fd = openSync('/dev/null', 'r+');
    try {
      expect(() => addon.request(fd, encodeNsm('GetRandom'), new Uint8Array(NSM_RESPONSE_MAX))).toThrow(
        expect.objectContaining({ code: 'ENOTTY', message: expect.stringMatching(/^NSM ioctl failed: ENOTTY/) }),
      );
      // And through NitroNsm: the failure is a PlatformError that names the request.
      expect(() =>
        new NitroNsm(
          addon,
          () => true,
          () => fd,
        ).random(32),
      ).toThrow(/the NSM request GetRandom failed: NSM ioctl failed: ENOTTY/);
    } finally {
      closeSync(fd);
    }
    expect(() => addon.request(fd, encodeNsm('GetRandom'), new Uint8Array(16))).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  test('arguments are checked before the ioctl', () => {
    // The addon's errors come from the main realm, not Jest's: compare names and codes, not constructors.
    const range = expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    const type = expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    const fd = 0;
    expect(() => addon.request(fd, new Uint8Array(0x1001), new Uint8Array(16))).toThrow(range);
    expect(() => addon.request(fd, new Uint8Array(0), new Uint8Array(16))).toThrow(range);
    expect(() => addon.request(fd, Uint8Array.of(0x60), new Uint8Array(0x3001))).toThrow(range);
    expect(() => addon.request(fd, new Uint16Array(2) as unknown as Uint8Array, new Uint8Array(16))).toThrow(type);
    expect(() => addon.request(-1, Uint8Array.of(0x60), new Uint8Array(16))).toThrow(type);
    expect(() => (addon.request as unknown as (...a: unknown[]) => number)('3', Uint8Array.of(0x60), new Uint8Array(16))).toThrow(type);
  });
});
