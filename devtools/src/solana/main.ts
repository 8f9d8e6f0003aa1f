/**
 * `node devtools/dist/solana/main.js`: the local Solana JSON-RPC endpoint
 * (LiteSVM) of the local stack on 127.0.0.1:${LOCAL_SOLANA_PORT:-8899}, its
 * ledger kept in ${LOCAL_SOLANA_DATA_DIR:-.data/solana}.
 */
import { join } from 'node:path';
import { LocalSolana } from './server.js';

const port = Number(process.env.LOCAL_SOLANA_PORT ?? '8899');
// LOCAL_SOLANA_CORS_ORIGINS: comma-separated browser origins allowed to call it (the host's /demo page).
const corsOrigins = (process.env.LOCAL_SOLANA_CORS_ORIGINS ?? '')
  .split(',')
  .map((o) => o.trim())
  .filter(Boolean);
const solana = new LocalSolana({ stateFile: join(process.env.LOCAL_SOLANA_DATA_DIR ?? '.data/solana', 'ledger.bin'), corsOrigins });
const { url } = await solana.listen(port);
console.log(JSON.stringify({ time: new Date().toISOString(), level: 'info', component: 'local-solana', event: 'listening', url }));
const stop = (): void => {
  void solana.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
