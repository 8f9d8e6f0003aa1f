/**
 * A software WebAuthn authenticator for Node tests (docs/passkeys.md): a P-256 (ES256) or Ed25519 (EdDSA) key
 * made with node:crypto, a signature counter, and a PRF secret (output = HMAC-SHA256(secret, salt), as CTAP2's
 * hmac-secret computes it). Its assertions are built byte by byte as an authenticator and a browser would:
 * authenticatorData = rpIdHash ‖ flags ‖ counter, clientDataJSON, a signature over authenticatorData ‖
 * SHA-256(clientDataJSON). Every part can be made wrong on purpose, to test the enclave's refusals.
 */
import { constants, createHash, createHmac, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { passkeyChallenge, passkeyPrfSalt, passkeyRegistrationDigest, toBase64Url, type PasskeyBinding } from '@enclave-wallet/proto/passkey';

export const LOCAL_ORIGIN = 'http://localhost:8080';
export const LOCAL_RP_ID = 'localhost';

export interface AssertOptions {
  /** Default: SHA-256 of the binding; give one to make it wrong. */
  challenge?: Uint8Array;
  origin?: string;
  rpId?: string;
  type?: string;
  /** Default: user present and verified. */
  up?: boolean;
  uv?: boolean;
  /** Default: the next value of this authenticator's counter (0 for a zero-counter authenticator). */
  counter?: number;
  /** Default: the wallet's salt (passkeyPrfSalt(binding.walletId)). */
  prfSalt?: Uint8Array;
  /** Sign with another key (a forged assertion). */
  signWith?: KeyObject;
  /** More members of the client data (a browser in a frame adds crossOrigin: true and topOrigin). */
  clientData?: Record<string, unknown>;
}

/** What an assertion gives the client: the envelope's `passkey` and `prf` fields, and the raw parts for tests. */
export interface SoftAssertion {
  passkey: { credentialId: string; authenticatorData: string; clientDataJSON: string; signature: string };
  prf: string;
  counter: number;
}

export class SoftwareAuthenticator {
  readonly credentialId: Uint8Array;
  readonly algorithm: -7 | -8 | -257;
  readonly publicKey: Uint8Array;
  private readonly privateKey: KeyObject;
  private readonly prfSecret = randomBytes(32);
  private counter = 0;
  private readonly counting: boolean;

  /** `counting`: false for an authenticator that always reports 0 (synced passkeys do); `rsaBits`: the RS256 key's modulus (2048 unless given). */
  constructor(options: { algorithm?: -7 | -8 | -257; counting?: boolean; rsaBits?: number } = {}) {
    this.algorithm = options.algorithm ?? -7;
    const pair =
      this.algorithm === -7
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : this.algorithm === -8
          ? generateKeyPairSync('ed25519')
          : generateKeyPairSync('rsa', { modulusLength: options.rsaBits ?? 2048 }); // RS256: RSASSA-PKCS1-v1_5 with SHA-256, e = 65537
    this.privateKey = pair.privateKey;
    this.publicKey = new Uint8Array(pair.publicKey.export({ format: 'der', type: 'spki' }));
    this.credentialId = randomBytes(this.algorithm === -7 ? 32 : 20);
    this.counting = options.counting ?? true;
  }

  /** HMAC-SHA256(this credential's secret, salt): the PRF output a browser returns for `salt`. */
  prf(salt: Uint8Array): Uint8Array {
    return new Uint8Array(createHmac('sha256', this.prfSecret).update(salt).digest());
  }

  /** The registration digest of this credential (the `add-passkey` envelope's `digest`). */
  get registrationDigest(): string {
    return passkeyRegistrationDigest({ credentialId: this.credentialId, algorithm: this.algorithm, publicKey: this.publicKey });
  }

  /** An assertion for `binding` (its challenge), with the wallet's PRF output. */
  assert(binding: PasskeyBinding, o: AssertOptions = {}): SoftAssertion {
    const counter = o.counter ?? (this.counting ? ++this.counter : 0);
    const data = Buffer.alloc(37);
    createHash('sha256')
      .update(o.rpId ?? LOCAL_RP_ID)
      .digest()
      .copy(data, 0);
    data[32] = (o.up === false ? 0 : 0x01) | (o.uv === false ? 0 : 0x04);
    data.writeUInt32BE(counter, 33);
    const clientDataJSON = Buffer.from(
      JSON.stringify({
        type: o.type ?? 'webauthn.get',
        challenge: toBase64Url(o.challenge ?? passkeyChallenge(binding)),
        origin: o.origin ?? LOCAL_ORIGIN,
        crossOrigin: false,
        ...o.clientData,
      }),
    );
    const signed = Buffer.concat([data, createHash('sha256').update(clientDataJSON).digest()]);
    const key = o.signWith ?? this.privateKey;
    const signature =
      key.asymmetricKeyType === 'ed25519'
        ? sign(null, signed, key)
        : key.asymmetricKeyType === 'rsa'
          ? sign('sha256', signed, { key, padding: constants.RSA_PKCS1_PADDING })
          : sign('sha256', signed, { key, dsaEncoding: 'der' });
    return {
      passkey: {
        credentialId: toBase64Url(this.credentialId),
        authenticatorData: toBase64Url(data),
        clientDataJSON: toBase64Url(clientDataJSON),
        signature: toBase64Url(signature),
      },
      prf: toBase64Url(this.prf(o.prfSalt ?? passkeyPrfSalt(binding.walletId ?? ''))),
      counter,
    };
  }

  /** The `passkey` object of an `add-passkey` envelope: the assertion and the credential's algorithm and key. */
  register(binding: PasskeyBinding, o: AssertOptions = {}): SoftAssertion & { passkey: { algorithm: number; publicKey: string } } {
    const a = this.assert(binding, o);
    return { ...a, passkey: { ...a.passkey, algorithm: this.algorithm, publicKey: toBase64Url(this.publicKey) } };
  }
}

/** A binding with a fresh `exp` and `nonce`, as a client makes one before asking for the assertion. */
export function freshBinding(b: Omit<PasskeyBinding, 'exp' | 'nonce'> & { exp?: number; nonce?: string }): PasskeyBinding {
  return { exp: Math.floor(Date.now() / 1000) + 120, nonce: randomBytes(16).toString('hex'), ...b };
}
