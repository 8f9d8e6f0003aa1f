/**
 * `node devtools/dist/frame/main.js`: the local stack's wallet frame server (./server.ts) on
 * http://localhost:${FRAME_PORT:-8081}. Configuration (docs/configuration.md):
 *   APP_ORIGINS        comma-separated origins of the apps that may embed the frame (default http://localhost:3000,http://127.0.0.1:3000)
 *   FRAME_API_URL      the host API the frame calls (default http://127.0.0.1:8080)
 *   FRAME_DEV_ROOT     the dev root the frame pins (the local stack's .data/dev-ca/root.der); unset: the AWS root
 *   FRAME_EXPECTED_PCRS  JSON { "0": "hex", ... } of the PCRs the frame pins
 *   FRAME_EVM          JSON { "chainId": 31337, "rpcUrl": "http://127.0.0.1:8545" }: the chain the provider serves
 *   FRAME_SOLANA       JSON { "cluster": "localnet", "rpcUrl": "http://127.0.0.1:8899" }
 *   FRAME_SITE_DIR     the built frame (default frame/dist/site)
 */
import { fileURLToPath } from 'node:url';
import { parseOrigins } from '@enclave-wallet/client';
import { FrameServer } from './server.js';

const env = process.env;
const json = <T>(text: string | undefined): T | undefined => (text ? (JSON.parse(text) as T) : undefined);
const port = Number(env.FRAME_PORT ?? '8081');
const evm = json<{ chainId: number; rpcUrl: string }>(env.FRAME_EVM);
const solana = json<{ cluster: string; rpcUrl: string }>(env.FRAME_SOLANA);
const expectedPcrs = json<Record<string, string>>(env.FRAME_EXPECTED_PCRS);
const server = new FrameServer({
  siteDir: env.FRAME_SITE_DIR ?? fileURLToPath(new URL('../../../frame/dist/site/', import.meta.url)),
  appOrigins: parseOrigins(env.APP_ORIGINS ?? 'http://localhost:3000,http://127.0.0.1:3000'),
  apiUrl: env.FRAME_API_URL ?? 'http://127.0.0.1:8080',
  ...(env.FRAME_DEV_ROOT ? { devRootPath: env.FRAME_DEV_ROOT } : {}),
  ...(expectedPcrs ? { expectedPcrs } : {}),
  ...(evm ? { evm } : {}),
  ...(solana ? { solana } : {}),
});
const { url } = await server.listen(port);
console.log(JSON.stringify({ time: new Date().toISOString(), level: 'info', component: 'frame', event: 'listening', url }));
const stop = (): void => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
