/**
 * The trust boundary is enforced by the linter: enclave/ may not import host
 * code or host-side libraries, host/ may not import enclave code, and proto/
 * imports neither. These cases prove the rules fire (the real tree is linted
 * by `npm run lint`, part of `npm test`). The published SDK (client/src) imports
 * no workspace package.
 */
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';

const cwd = fileURLToPath(new URL('../../', import.meta.url));
const eslint = new ESLint({ cwd });

async function violations(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

test.each([
  ['enclave/src/x.ts', "import express from 'express';"],
  ['enclave/src/x.ts', "import { jwtVerify } from 'jose';"],
  ['enclave/src/x.ts', "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';"],
  ['enclave/src/sealing/x.ts', "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';"],
  ['enclave/src/guard/x.ts', "import express from 'express';"],
  ['enclave/src/guard/x.ts', "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';"],
  ['enclave/test/x.ts', "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';"],
  ['enclave/src/x.ts', "import { createApp } from '../../host/src/app.js';"],
  ['enclave/src/x.ts', "import { createApp } from '@enclave-wallet/host';"],
  ['host/src/x.ts', "import { startEnclaveServer } from '../../enclave/src/server.js';"],
  ['host/src/x.ts', "import { startEnclaveServer } from '@enclave-wallet/enclave';"],
  ['proto/src/x.ts', "import { createApp } from '@enclave-wallet/host';"],
  ['enclave/src/x.ts', "import { SimulatedNsm } from '@enclave-wallet/devtools/nsm';"],
  ['enclave/src/x.ts', "import { SimulatedNsm } from '../../devtools/src/nsm/simulated.js';"],
  ['client/src/x.ts', "import { PIN_ENVELOPE_INFO } from '@enclave-wallet/proto/labels';"],
  ['client/src/x.ts', "import { v1 } from '@enclave-wallet/proto';"],
  ['client/src/x.ts', "import { PIN_ENVELOPE_INFO } from '../../proto/src/labels.js';"],
  ['client/src/x.ts', "import { readDevRoot } from '../../devtools/src/nsm/index.js';"],
])('%s: %s is rejected', async (file, code) => {
  expect(await violations(file, code + '\nvoid 0;\n')).not.toEqual([]);
});

test.each([
  ['enclave/src/x.ts', "import { v1 } from '@enclave-wallet/proto';"],
  ['host/src/x.ts', "import { v1 } from '@enclave-wallet/proto';"],
  ['host/src/x.ts', "import { EnclaveClient } from './enclave-client.js';"],
  ['client/src/x.ts', "import { PIN_ENVELOPE_INFO } from './proto-copy/labels.js';"],
  ['client/src/x.ts', "import { createWalletClient } from 'viem';"],
])('%s: %s is allowed', async (file, code) => {
  expect(await violations(file, code + '\nvoid 0;\n')).toEqual([]);
});
