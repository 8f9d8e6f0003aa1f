/**
 * Key storage of the local KMS: AES-256 key material and policies, kept in
 * one JSON file (mode 0600) under `.data/kms/`. Development tool.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPEN_POLICY, type KeyPolicy } from './policy.js';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

export interface StoredKey {
  keyId: string;
  arn: string;
  material: Buffer;
  policy: KeyPolicy;
  description: string;
  createdAt: number;
}

interface FileShape {
  keys: Array<Omit<StoredKey, 'material'> & { material: string }>;
}

export class KeyStore {
  private readonly keys = new Map<string, StoredKey>();
  private readonly file: string;

  constructor(private readonly dir: string) {
    this.file = join(dir, 'keys.json');
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as FileShape;
      for (const k of data.keys) this.keys.set(k.keyId, { ...k, material: Buffer.from(k.material, 'base64') });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  create(description: string, policy: KeyPolicy = OPEN_POLICY): StoredKey {
    const keyId = randomUUID();
    const key: StoredKey = {
      keyId,
      arn: `arn:aws:kms:${LOCAL_REGION}:${LOCAL_ACCOUNT}:key/${keyId}`,
      material: randomBytes(32),
      policy,
      description,
      createdAt: Date.now(),
    };
    this.keys.set(keyId, key);
    this.save();
    return key;
  }

  /** Finds a key by id or ARN. */
  find(idOrArn: string): StoredKey | undefined {
    const id = idOrArn.startsWith('arn:') ? idOrArn.split('/').pop()! : idOrArn;
    return this.keys.get(id);
  }

  setPolicy(key: StoredKey, policy: KeyPolicy): void {
    key.policy = policy;
    this.save();
  }

  private save(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const data: FileShape = { keys: [...this.keys.values()].map((k) => ({ ...k, material: k.material.toString('base64') })) };
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(data, null, 2), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
