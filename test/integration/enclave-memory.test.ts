/**
 * Secrets in the enclave's memory, looked for from outside: the real enclave
 * process imports a wallet, signs, changes its PIN and signs again; then its
 * JavaScript heap (a heap snapshot, taken on a signal) and all of its
 * writable memory (/proc/<pid>/mem, the process stopped) are searched for the
 * PINs, the seed, the entropy and the account's private key. Linux only (CI
 * and these machines): reading another process's memory needs ptrace rights,
 * which root and a parent process under the default Yama setting have.
 */
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entropyToMnemonic, generateMnemonic, mnemonicToEntropy, mnemonicToSeedSync } from '@scure/bip39';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { hashMessage } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { verifyAttestationDocument } from '@enclave-wallet/client';
import { RpcClient } from '@enclave-wallet/proto';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { sealEnvelope } from '../support/envelopes.js';
import { startEnclaveProcess } from '../support/enclave-process.js';
import { startLocalAws, type LocalAws } from '../support/local-aws.js';

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

test('after import, sign, PIN change and sign, the enclave holds no PIN, seed, entropy or private key', async () => {
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
    const mnemonic = generateMnemonic(english, 256);
    const [pin, newPin] = ['730518', '604827'];
    const imported = await rpc.call('import', {
      userId: 'u-1',
      walletId: 'w-1',
      recoveryEnvelope: sealEnvelope(key, { purpose: 'import', sub: 'u-1', pin, mnemonic }),
    });
    const account = imported.accounts!.find((a) => a.network === 1)!.address!;
    let blob = imported.sealedBlob!;
    const sign = async (withPin: string, text: string): Promise<void> => {
      await rpc.call('sign', {
        userId: 'u-1',
        walletId: 'w-1',
        sealedBlob: blob,
        network: 1,
        address: account,
        evmMessage: { text },
        pinEnvelope: sealEnvelope(key, {
          purpose: 'sign',
          sub: 'u-1',
          walletId: 'w-1',
          network: 'evm',
          kind: 'evm-message',
          address: account,
          digest: hashMessage(text),
          pin: withPin,
        }),
      });
    };
    await sign(pin, 'one');
    blob = (
      await rpc.call('changePin', {
        userId: 'u-1',
        walletId: 'w-1',
        sealedBlob: blob,
        pinEnvelope: sealEnvelope(key, { purpose: 'change-pin', sub: 'u-1', walletId: 'w-1', pin, newPin }),
      })
    ).sealedBlob!;
    await sign(newPin, 'two');
    rpc.close();
    await new Promise((r) => setTimeout(r, 300)); // the guard's clear after the last answer

    const seed = Buffer.from(mnemonicToSeedSync(mnemonic));
    const entropy = Buffer.from(mnemonicToEntropy(mnemonic, english));
    expect(entropyToMnemonic(entropy, english)).toBe(mnemonic);
    const privateKey = Buffer.from(mnemonicToAccount(mnemonic).getHdKey().privateKey!);
    const secrets: Record<string, Buffer[]> = {
      pin: [Buffer.from(pin)],
      newPin: [Buffer.from(newPin)],
      seed: [seed, Buffer.from(seed.toString('hex'))],
      entropy: [entropy, Buffer.from(entropy.toString('hex'))],
      privateKey: [privateKey, Buffer.from(privateKey.toString('hex'))],
    };

    // First all of its writable memory, the process stopped: freed memory not yet reused included (before the
    // snapshot, whose own output holds digits).
    child.kill('SIGSTOP');
    const memory = writableMemory(child.pid!);
    const inMemory = Object.entries(secrets).flatMap(([name, forms]) =>
      forms.filter((f) => memory.some((region) => region.includes(f))).map((f) => `${name} (${f.length} bytes)`),
    );
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
    const inHeap = Object.entries(secrets).flatMap(([name, forms]) =>
      forms.filter((f) => strings.some((str) => str.includes(f.toString('latin1')))).map((f) => `${name} (${f.length} bytes)`),
    );
    // No live string anywhere in the heap holds a PIN, the seed, the entropy or a private key (hex included).
    expect(inHeap).toEqual([]);
    // No byte of the seed is left anywhere in the process, freed memory included: it only ever lives in
    // SecretBytes (outside the moving heap) and native buffers that are zeroed. What may still be found there, and
    // why (docs/threat-model.md, "Secrets in memory"): the PIN digits (argon2's and OpenSSL's own buffers), the
    // entropy (BIP-39's word-list code works on small arrays and strings), a private key (noble's curve
    // arithmetic converts it to a BigInt through a hex string).
    expect(inMemory.filter((found) => found.startsWith('seed'))).toEqual([]);
  } finally {
    child.kill('SIGKILL');
  }
}, 120_000);
