/**
 * Secrets in the enclave's memory, looked for from outside: the real enclave
 * process imports one wallet and creates another (its entropy drawn in the
 * enclave), and for each signs, changes the PIN and signs again; then its
 * JavaScript heap (a heap snapshot, taken on a signal) and all of its
 * writable memory (/proc/<pid>/mem, the process stopped) are searched for the
 * PINs (old and new), the seeds, the entropies, the accounts' private keys and
 * the wallets' KMS data keys. The created wallet's phrase is exported, and the
 * data keys decrypted with the local KMS, only after both were captured; the
 * writable memory is read again right after the export.
 * Linux only (CI and these machines): reading another process's memory needs
 * ptrace rights, which root and a parent process under the default Yama
 * setting have.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { base58 } from '@scure/base';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entropyToMnemonic, generateMnemonic, mnemonicToEntropy, mnemonicToSeedSync } from '@scure/bip39';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { hashMessage, toHex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { verifyAttestationDocument } from '@enclave-wallet/client';
import { LOCAL_KMS_CREDENTIALS } from '@enclave-wallet/devtools';
import { readDevRoot, SimulatedNsm } from '../../devtools/src/nsm/index.js';
import { EnclaveKms, RecipientKey } from '../../enclave/src/kms/client.js';
import { ENCLAVE_CODE_DIR } from '../../enclave/src/platform/index.js';
import { slip10Ed25519 } from '../../enclave/src/keys/derive.js';
import { RpcClient, v1 } from '@enclave-wallet/proto';
import { decodeBlob } from '../../enclave/src/sealing/blob.js';
import { encryptionContext } from '../../enclave/src/sealing/data-key.js';
import { CLEAR_DELAY_MS } from '../../enclave/src/sealing/guesses.js';
import { hpkeOpen } from '../support/hpke-reference.js';
import { RECOVERY_INFO, sealEnvelope } from '../support/envelopes.js';
import { startEnclaveProcess } from '../support/enclave-process.js';
import { startLocalAws, type LocalAws } from '../support/local-aws.js';
import type { UserId, WalletId } from '@enclave-wallet/proto/ids';

const dir = mkdtempSync(join(tmpdir(), 'enclave-memory-'));
const caDir = join(dir, 'dev-ca');
let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws(dir, caDir);
});
afterAll(async () => {
  await aws.close();
});

const startEnclave = (cwd: string): ReturnType<typeof startEnclaveProcess> => startEnclaveProcess(caDir, { nodeArgs: ['--heapsnapshot-signal=SIGUSR2'], cwd });

/** Every readable, writable mapping of a stopped process, read through /proc/<pid>/mem. */
function writableMemory(pid: number): Buffer[] {
  const out: Buffer[] = [];
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) rw/.exec(line);
      if (!m) continue;
      const start = Number.parseInt(m[1]!, 16);
      const length = Number.parseInt(m[2]!, 16) - start;
      const buf = Buffer.alloc(length);
      try {
        readSync(fd, buf, 0, length, start);
        out.push(buf);
      } catch {
        // a guard page or a mapping that went away
      }
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/**
 * A KMS client that asks the local KMS as an enclave would: with an attested Recipient from a simulated NSM under the
 * same dev CA (the local wallet key's policy accepts any image), so it gets back a wallet's data key.
 */
const enclaveLikeKms = (): EnclaveKms =>
  new EnclaveKms(
    { region: 'us-east-1', endpoint: aws.kmsUrl, keyId: aws.keyArn, credentials: { ...LOCAL_KMS_CREDENTIALS } },
    new SimulatedNsm({ codeDirs: [ENCLAVE_CODE_DIR], caDir }),
    new RecipientKey(),
  );

/** The data key a sealed blob's KMS ciphertext wraps. */
async function dataKeyOf(kms: EnclaveKms, sealedBlob: Uint8Array, userId: string, walletId: string): Promise<Buffer> {
  const key = await kms.decryptDataKey(decodeBlob(sealedBlob).kmsCiphertext, encryptionContext(walletId as WalletId, userId as UserId));
  return Buffer.from(key);
}

/** The forms a secret's bytes are looked for in: the bytes, and their hex (and base64 when asked). */
const formsOf = (bytes: Uint8Array, base64 = false): Buffer[] => {
  const raw = Buffer.from(bytes);
  return [raw, Buffer.from(raw.toString('hex')), ...(base64 ? [Buffer.from(raw.toString('base64'))] : [])];
};

test('after import and create, each followed by sign, PIN change and sign, the enclave holds no PIN, seed, entropy, private key or data key', async () => {
  const cwd = mkdtempSync(join(dir, 'snap-'));
  const { child, address } = await startEnclave(cwd);
  try {
    const rpc = await RpcClient.connect(address);
    await rpc.call('init', aws.initRequest());
    const nonce = Uint8Array.of(1, 2, 3, 4);
    const key = verifyAttestationDocument((await rpc.call('getAttestation', { nonce })).document!, {
      root: readDevRoot(caDir),
      expectedNonce: nonce,
    }).publicKey!;

    /** Signs a message with the wallet's EVM account 0, then changes its PIN, then signs again; every blob it saw. */
    const signChangeSign = async (userId: string, walletId: string, first: Uint8Array, account: string, pin: string, newPin: string) => {
      const blobs = [first];
      const sign = async (withPin: string, text: string): Promise<void> => {
        await rpc.call('sign', {
          userId,
          walletId,
          sealedBlob: blobs.at(-1)!,
          network: 1,
          address: account,
          evmMessage: { text },
          pinEnvelope: sealEnvelope(key, {
            purpose: 'sign',
            sub: userId,
            walletId,
            network: 'evm',
            kind: 'evm-message',
            address: account,
            digest: hashMessage(text),
            pin: withPin,
          }),
        });
      };
      await sign(pin, 'one');
      const changed = await rpc.call('changePin', {
        userId,
        walletId,
        sealedBlob: blobs.at(-1)!,
        pinEnvelope: sealEnvelope(key, { purpose: 'change-pin', sub: userId, walletId, pin, newPin }),
      });
      blobs.push(changed.sealedBlob!);
      await sign(newPin, 'two');
      return blobs;
    };

    // An imported wallet: the phrase comes from the test.
    const mnemonic = generateMnemonic(english, 256);
    const [pin, newPin] = ['730518', '604827'];
    const imported = await rpc.call('import', {
      userId: 'u-1',
      walletId: 'w-1',
      recoveryEnvelope: sealEnvelope(key, { purpose: 'import', sub: 'u-1', pin, mnemonic }),
    });
    const importedBlobs = await signChangeSign('u-1', 'w-1', imported.sealedBlob!, imported.accounts!.find((a) => a.network === 1)!.address!, pin, newPin);

    // A created wallet: its entropy is drawn in the enclave, and its phrase is known here only once exported (below).
    // Its wallet id is unique, for the positive control.
    const createdWallet = `w-created-${randomUUID()}`;
    const [createdPin, createdNewPin] = ['581946', '926370'];
    const created = await rpc.call('createWallet', {
      userId: 'u-2',
      walletId: createdWallet,
      pinEnvelope: sealEnvelope(key, { purpose: 'create-wallet', sub: 'u-2', pin: createdPin }),
    });
    const createdAccount = created.accounts!.find((a) => a.network === 1)!.address!;
    const createdBlobs = await signChangeSign('u-2', createdWallet, created.sealedBlob!, createdAccount, createdPin, createdNewPin);
    // And a Solana message with it (its key and signing scalar must not be left either: asserted below).
    const solanaAccount = created.accounts!.find((a) => a.network === v1.Network.NETWORK_SOLANA)!.address!;
    const solanaMessage = new TextEncoder().encode('Sign in to Example');
    await rpc.call('sign', {
      userId: 'u-2',
      walletId: createdWallet,
      sealedBlob: createdBlobs.at(-1)!,
      network: v1.Network.NETWORK_SOLANA,
      address: solanaAccount,
      solanaMessage: { message: solanaMessage },
      pinEnvelope: sealEnvelope(key, {
        purpose: 'sign',
        sub: 'u-2',
        walletId: createdWallet,
        network: 'solana',
        kind: 'solana-message',
        address: solanaAccount,
        digest: toHex(sha256(solanaMessage)),
        pin: createdNewPin,
      }),
    });

    // A right PIN's clear in the guard may wait CLEAR_DELAY_MS for a next count to carry it, then is written on its
    // own: past that, nothing of these requests is still in flight.
    await new Promise((r) => setTimeout(r, CLEAR_DELAY_MS + 500));

    // First all of its writable memory, the process stopped: freed memory not yet reused included (before the
    // snapshot, whose own output holds digits).
    child.kill('SIGSTOP');
    const memory = writableMemory(child.pid!);
    child.kill('SIGCONT');
    // Then the JavaScript heap: its live strings (a snapshot holds no typed array's bytes, and collects garbage first).
    child.kill('SIGUSR2');
    let snapshot = '';
    for (let i = 0; i < 200; i++) {
      const file = readdirSync(cwd).find((f) => f.endsWith('.heapsnapshot'));
      if (file && statSync(join(cwd, file)).size > 0) {
        const size = statSync(join(cwd, file)).size;
        await new Promise((r) => setTimeout(r, 300));
        if (statSync(join(cwd, file)).size === size) {
          snapshot = join(cwd, file);
          break;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(snapshot).not.toBe('');
    // The snapshot's strings table (its other arrays are numbers: node ids and sizes, which could match digits).
    const strings = (JSON.parse(readFileSync(snapshot, 'utf8')) as { strings: string[] }).strings;

    // Only now, both captured: the created wallet's phrase, exported (which puts it in the enclave's memory).
    const clientKey = x25519.utils.randomSecretKey();
    const recipientPublicKey = x25519.getPublicKey(clientKey);
    const exported = await rpc.call('export', {
      userId: 'u-2',
      walletId: createdWallet,
      sealedBlob: createdBlobs.at(-1)!,
      recipientPublicKey,
      pinEnvelope: sealEnvelope(key, { purpose: 'export', sub: 'u-2', walletId: createdWallet, digest: toHex(sha256(recipientPublicKey)), pin: createdNewPin }),
    });
    // Its memory again, right after the export: the phrase is written as bytes and sealed in WebAssembly memory.
    child.kill('SIGSTOP');
    const afterExport = writableMemory(child.pid!);
    child.kill('SIGCONT');
    rpc.close();
    const createdMnemonic = (
      JSON.parse(new TextDecoder().decode(hpkeOpen(clientKey, exported.encryptedRecoveryPhrase!, RECOVERY_INFO))) as { mnemonic: string }
    ).mnemonic;
    expect(mnemonicToAccount(createdMnemonic).address).toBe(createdAccount);

    /** A wallet's seed, entropy and EVM private key, each as bytes and hex. */
    const keysOf = (phrase: string, name: string): Record<string, Buffer[]> => {
      const entropy = Buffer.from(mnemonicToEntropy(phrase, english));
      expect(entropyToMnemonic(entropy, english)).toBe(phrase);
      return {
        [`${name}.seed`]: formsOf(mnemonicToSeedSync(phrase)),
        [`${name}.entropy`]: formsOf(entropy),
        [`${name}.privateKey`]: formsOf(mnemonicToAccount(phrase).getHdKey().privateKey!),
      };
    };
    /**
     * A wallet's Solana key (m/44'/501'/0'/0', SLIP-0010) as bytes and hex; SHA-512 of it, whose halves are the
     * ed25519 signing scalar (clamped: with it alone any message can be signed) and the nonce prefix (with one
     * signature it gives the scalar); and the nonce r of the message signed (likewise). Numbers little-endian,
     * big-endian and as big-endian hex (how a BigInt is made from one).
     */
    const solanaKeysOf = (phrase: string, name: string, signed: Uint8Array): Record<string, Buffer[]> => {
      const { key: solanaKey } = slip10Ed25519(mnemonicToSeedSync(phrase), [44, 501, 0, 0]);
      // The needles are right: this key is the account's that signed.
      expect(base58.encode(ed25519.getPublicKey(solanaKey))).toBe(solanaAccount);
      const numberForms = (littleEndian: Uint8Array): Buffer[] => {
        const bigEndian = Buffer.from(littleEndian).reverse();
        return [Buffer.from(littleEndian), bigEndian, Buffer.from(bigEndian.toString('hex'))];
      };
      const hashed = sha512(solanaKey);
      const scalar = Buffer.from(hashed.subarray(0, 32));
      scalar[0]! &= 248;
      scalar[31]! &= 127;
      scalar[31]! |= 64;
      const prefix = hashed.subarray(32);
      const L = 2n ** 252n + 27742317777372353535851937790883648493n;
      let r =
        BigInt(
          `0x${Buffer.from(sha512(new Uint8Array([...prefix, ...signed])))
            .reverse()
            .toString('hex')}`,
        ) % L;
      // The nonce is right: r·B is the R of the signature.
      expect(toHex(ed25519.Point.BASE.multiply(r).toBytes())).toBe(toHex(ed25519.sign(signed, solanaKey).subarray(0, 32)));
      const nonce = new Uint8Array(32);
      for (let i = 0; i < 32; i++, r >>= 8n) nonce[i] = Number(r & 0xffn);
      return {
        [`${name}.solanaKey`]: formsOf(solanaKey),
        [`${name}.solanaScalar`]: numberForms(scalar),
        [`${name}.solanaHashOfKey`]: numberForms(hashed.subarray(0, 32)),
        [`${name}.solanaPrefix`]: formsOf(prefix),
        [`${name}.solanaNonce`]: numberForms(nonce),
      };
    };
    const kms = enclaveLikeKms();
    /** The data keys of every blob a wallet had (a PIN change may re-seal under a new one), each distinct once. */
    const dataKeysOf = async (blobs: Uint8Array[], userId: string, walletId: string, name: string): Promise<Record<string, Buffer[]>> => {
      const keys = await Promise.all(blobs.map((b) => dataKeyOf(kms, b, userId, walletId)));
      const distinct = keys.filter((k, i) => keys.findIndex((o) => o.equals(k)) === i);
      expect(distinct.every((k) => k.length === 32)).toBe(true);
      return Object.fromEntries(distinct.map((k, i) => [`${name}.dataKey${i}`, formsOf(k, true)]));
    };
    const secrets: Record<string, Buffer[]> = {
      'imported.pin': [Buffer.from(pin)],
      'imported.newPin': [Buffer.from(newPin)],
      // An import's phrase is taken out of the envelope's bytes before they are decoded (envelope/take-secrets.ts).
      'imported.mnemonic': [Buffer.from(mnemonic)],
      ...keysOf(mnemonic, 'imported'),
      ...(await dataKeysOf(importedBlobs, 'u-1', 'w-1', 'imported')),
      'created.pin': [Buffer.from(createdPin)],
      'created.newPin': [Buffer.from(createdNewPin)],
      // A created wallet's phrase is made in the enclave only as bytes (keys/phrase.ts), never as a string.
      'created.mnemonic': [Buffer.from(createdMnemonic)],
      ...keysOf(createdMnemonic, 'created'),
      ...solanaKeysOf(createdMnemonic, 'created', solanaMessage),
      ...(await dataKeysOf(createdBlobs, 'u-2', createdWallet, 'created')),
    };

    const inMemory = Object.entries(secrets).flatMap(([name, forms]) =>
      forms.filter((f) => memory.some((region) => region.includes(f))).map((f) => `${name} (${f.length} bytes)`),
    );
    const inHeap = Object.entries(secrets).flatMap(([name, forms]) =>
      forms.filter((f) => strings.some((str) => str.includes(f.toString('latin1')))).map((f) => `${name} (${f.length} bytes)`),
    );
    // Positive control: both searches find what the enclave does keep, the created wallet's id (a key of its cache
    // of guard records, which has no lifetime), so an empty result below is not a search that cannot find anything.
    expect(memory.some((region) => region.includes(Buffer.from(createdWallet)))).toBe(true);
    expect(strings.some((str) => str.includes(createdWallet))).toBe(true);

    // No live string anywhere in the heap holds a PIN, a seed, an entropy, a private key or a data key (hex and
    // base64 included), nor the created wallet's phrase.
    expect(inHeap).toEqual([]);
    // No byte of either seed is left anywhere in the process, freed memory included: it only ever lives in
    // SecretBytes (outside the moving heap) and native buffers that are zeroed. Nor is either wallet's phrase,
    // entropy or private key: they are sealed and opened by WebAssembly that zeroes its memory (aead.ts), a phrase
    // is written and read as bytes (keys/phrase.ts), an import's is taken out of the envelope before it is decoded,
    // and the signature's self-check computes with the key in WebAssembly too (signing/scalar.ts, signing/point.ts);
    // before those, the created wallet's phrase, both entropies and both private keys (as hex) were found in every
    // run. Nor is the Solana account's key, its ed25519 signing scalar, nonce prefix or the nonce of the message signed: ed25519 is WebAssembly that zeroes its
    // memory too (signing/ed25519.ts); with noble's, which made the scalar a BigInt through hex, the scalar was found
    // in every run. What may still be found, and why (docs/threat-model.md, "Secrets in memory"): the PIN digits
    // (argon2's and OpenSSL's own buffers), the data keys (live: the enclave's data-key cache keeps them for
    // minutes, zeroed when they leave; copies may be freed). Reported, not asserted:
    console.log(`in the enclave's writable memory (live or freed): ${inMemory.join(', ') || 'none'}`);
    expect(inMemory.filter((found) => /\.(seed|mnemonic|entropy|privateKey|solana[A-Z])/.test(found))).toEqual([]);
    // Nor right after the export of the created wallet's phrase.
    const afterExportFound = Object.entries(secrets)
      .filter(([name]) => /^created\.(seed|mnemonic|entropy|privateKey)/.test(name))
      .flatMap(([name, forms]) => forms.filter((f) => afterExport.some((region) => region.includes(f))).map((f) => `${name} (${f.length} bytes)`));
    expect(afterExportFound).toEqual([]);
  } finally {
    // A graceful stop: the enclave writes what it still owes the guard (the export's right PIN, whose clear it holds
    // for a next count) before the local DynamoDB closes (which also waits for what it received: local-aws.ts).
    await stopGracefully(child);
  }
}, 120_000);

/** SIGTERM (the enclave settles its guard writes and exits), then SIGKILL if it has not exited within 10 s. */
async function stopGracefully(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
