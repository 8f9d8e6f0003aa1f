/** `node devtools/dist/oidc/main.js`: the dev OIDC issuer of the local stack on 127.0.0.1:${DEV_ISSUER_PORT:-9090}. */
import { DevIssuer } from './issuer.js';

const port = Number(process.env.DEV_ISSUER_PORT ?? '9090');
// DEV_ISSUER_CORS_ORIGINS: comma-separated browser origins allowed to ask for tokens (the host's /demo page).
const corsOrigins = (process.env.DEV_ISSUER_CORS_ORIGINS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const issuer = new DevIssuer({ dataDir: process.env.DEV_ISSUER_DATA_DIR ?? '.data/dev-oidc', corsOrigins });
const { url, server } = await issuer.listen(port);
console.log(JSON.stringify({ time: new Date().toISOString(), level: 'info', component: 'dev-oidc', event: 'listening', url }));
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
