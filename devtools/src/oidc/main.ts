/**
 * `node devtools/dist/oidc/main.js [--port N] [--host ADDRESS] [--issuer URL] [--audience AUD] [--data-dir DIR]`: the dev
 * OIDC issuer of the local stack on 127.0.0.1:${DEV_ISSUER_PORT:-9090}. The options run another one beside it, under
 * another issuer URL and audience, as a second provider would be (docs/login.md).
 */
import { parseArgs } from 'node:util';
import { DevIssuer } from './issuer.js';

const { values: args } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string' }, issuer: { type: 'string' }, audience: { type: 'string' }, 'data-dir': { type: 'string' } },
});
const port = Number(args.port ?? process.env.DEV_ISSUER_PORT ?? '9090');
// DEV_ISSUER_CORS_ORIGINS: comma-separated browser origins allowed to ask for tokens (the host's /demo page).
const corsOrigins = (process.env.DEV_ISSUER_CORS_ORIGINS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const issuer = new DevIssuer({
  dataDir: args['data-dir'] ?? process.env.DEV_ISSUER_DATA_DIR ?? '.data/dev-oidc',
  corsOrigins,
  ...(args.issuer ? { issuer: args.issuer } : {}),
  ...(args.audience ? { audience: args.audience } : {}),
});
const { url, server } = await issuer.listen(port, args.host ?? '127.0.0.1');
console.log(
  JSON.stringify({
    time: new Date().toISOString(),
    level: 'info',
    component: 'dev-oidc',
    event: 'listening',
    url,
    issuer: issuer.issuerUrl,
    audience: issuer.audience,
  }),
);
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
