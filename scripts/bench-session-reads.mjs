/**
 * An extra section of scripts/bench.mjs (docs/performance.md, nineteenth look): what the host's session checks cost
 * its CPU, read one by one (a GetItem each, as before 2026-12-06) against the batched read the host makes now (one
 * BatchGetItem, host/src/storage/sessions.ts `revokedFamilies`), for the benchmark's 32 sessions, against the run's
 * DynamoDB stand-in, in a table of its own. Measured in this process (the load generator's, on the host's cores and
 * the host's Node, with the host's storage code and AWS SDK): its CPU over each way, alternated, medians of 41.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Store } from '@enclave-wallet/host';

const SESSIONS = 32;
const ROUNDS = 41;

export async function bench({ stack }) {
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: stack.dynamoEndpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const single = [];
  const batch = [];
  try {
    const store = new Store({ client, tableName: 'bench-session-reads' });
    await store.ensureTable();
    const ids = Array.from({ length: SESSIONS }, (_, i) => `bench-session-${i}`);
    await store.sessions.revokeFamily(ids[5], Date.now() + 3_600_000);
    const cpuMs = async (f) => {
      const c0 = process.cpuUsage();
      await f();
      const c = process.cpuUsage(c0);
      return (c.user + c.system) / 1000;
    };
    const oneByOne = async () => {
      let revoked = 0;
      for (const id of ids) if (await store.sessions.isFamilyRevoked(id)) revoked++;
      if (revoked !== 1) throw new Error(`one by one: ${revoked} revoked, expected 1`);
    };
    const batched = async () => {
      const { revoked, unread } = await store.sessions.revokedFamilies(ids);
      if (revoked.size !== 1 || !revoked.has(ids[5]) || unread) throw new Error('batched: not the one revoked session');
    };
    for (let i = 0; i < 10; i++) {
      await oneByOne();
      await batched();
    }
    for (let i = 0; i < ROUNDS; i++) {
      single.push(await cpuMs(oneByOne));
      batch.push(await cpuMs(batched));
    }
  } finally {
    client.destroy();
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  return {
    rows: [
      [`${SESSIONS} session checks, one GetItem each: CPU`, `${med(single).toFixed(2)} ms`, `medians of ${ROUNDS}, this process (the host's SDK and Node)`],
      [`the same ${SESSIONS} in one BatchGetItem (the host's way)`, `${med(batch).toFixed(2)} ms`, `× ${(med(single) / med(batch)).toFixed(0)} less`],
    ],
    json: { sessions: SESSIONS, rounds: ROUNDS, oneByOneMs: single, batchedMs: batch },
  };
}
