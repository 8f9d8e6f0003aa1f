/** The test-side HPKE reproduces RFC 9180 A.2.1 exactly, so it can stand in for an independent client. */
import { hpkeOpen, hpkeSeal, wireOf } from '../support/hpke-reference.js';

const h = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const V = {
  skE: h('f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600'),
  skR: h('8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb'),
  pkR: h('4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a'),
  info: h('4f6465206f6e2061204772656369616e2055726e'),
  enc: '1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a',
  aad: h('436f756e742d30'),
  pt: h('4265617574792069732074727574682c20747275746820626561757479'),
  ct: '1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28',
};

test('RFC 9180 A.2.1 base mode, sequence 0: seal and open', () => {
  const sealed = hpkeSeal(V.pkR, V.info, V.pt, V.aad, V.skE);
  expect(Buffer.from(sealed.enc).toString('hex')).toBe(V.enc);
  expect(Buffer.from(sealed.ct).toString('hex')).toBe(V.ct);
  expect(Buffer.from(hpkeOpen(V.skR, wireOf(sealed), V.info, V.aad))).toEqual(Buffer.from(V.pt));
});
