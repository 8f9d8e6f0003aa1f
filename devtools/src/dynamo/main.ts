/**
 * `node devtools/dist/dynamo/main.js`: the local stack's DynamoDB-compatible
 * store (dynalite) on 127.0.0.1:${DYNAMODB_PORT:-8000}, keeping its data under
 * .data/dynamodb across restarts. Development only: production uses DynamoDB.
 */
import { mkdirSync } from 'node:fs';
import dynalite from 'dynalite';

const port = Number(process.env.DYNAMODB_PORT ?? '8000');
const path = process.env.DYNAMODB_DATA_DIR ?? '.data/dynamodb';
mkdirSync(path, { recursive: true, mode: 0o700 });
const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(port, '127.0.0.1', () => {
  console.log(
    JSON.stringify({ time: new Date().toISOString(), level: 'info', component: 'dynamodb-local', event: 'listening', url: `http://127.0.0.1:${port}`, path }),
  );
});
const stop = (): void => {
  server.close(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
