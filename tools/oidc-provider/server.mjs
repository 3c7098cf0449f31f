// A real OpenID Connect provider (panva/oidc-provider, OpenID-certified) for
// login tests and local development. NOT for production: it uses the built-in
// development login/consent pages, which accept any login name and password.
//
// Usage:
//   node server.mjs --port 0 --clients '[{"client_id":"rc-web","client_secret":"s3cret",
//                                          "redirect_uris":["http://127.0.0.1:8080/auth/callback"]}]'
// Options:
//   --port N          port to listen on; 0 (default) picks a free one
//   --clients JSON    array of {client_id, client_secret?, redirect_uris[]}; without a
//                     secret the client is public (token_endpoint_auth_method "none"),
//                     with one it is confidential (client_secret_basic)
//   --issuer-host H   host name used in the issuer URL (default 127.0.0.1). Issuers are
//                     compared byte for byte, so this must match what relying parties use.
//   --listen-host H   address to bind (default 127.0.0.1)
//   --ignore-stdin    keep running when stdin closes (for `... </dev/null &` in dev shells)
//
// Once listening it prints exactly one line to stdout: `OIDC_PROVIDER_READY <issuer>`,
// so a parent process learns the real port without sleeping. Everything else goes to
// stderr. It exits on SIGTERM/SIGINT and, unless --ignore-stdin, when stdin closes,
// so it never outlives a parent test process that holds its stdin pipe.
//
// Accounts: the login name is the account id (`sub`). email = the login name when it
// contains '@', else `<login>@example.com`. email_verified is false exactly when the
// login name starts with "unverified", so tests can exercise the refusal path.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    clients: { type: 'string', default: '[]' },
    'issuer-host': { type: 'string', default: '127.0.0.1' },
    'listen-host': { type: 'string', default: '127.0.0.1' },
    'ignore-stdin': { type: 'boolean', default: false },
  },
  strict: true,
});

function fail(message) {
  process.stderr.write(`oidc-provider: ${message}\n`);
  process.exit(2);
}

function parseClients(json) {
  let list;
  try {
    list = JSON.parse(json);
  } catch (err) {
    fail(`--clients is not valid JSON: ${err.message}`);
  }
  if (!Array.isArray(list)) fail('--clients must be a JSON array');
  return list.map((c, i) => {
    if (typeof c?.client_id !== 'string' || !c.client_id) fail(`client #${i}: client_id missing`);
    if (!Array.isArray(c.redirect_uris) || c.redirect_uris.length === 0) {
      fail(`client ${c.client_id}: redirect_uris must be a non-empty array`);
    }
    const confidential = typeof c.client_secret === 'string' && c.client_secret.length > 0;
    return {
      client_id: c.client_id,
      ...(confidential ? { client_secret: c.client_secret } : {}),
      token_endpoint_auth_method: confidential ? 'client_secret_basic' : 'none',
      redirect_uris: c.redirect_uris,
      post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    };
  });
}

function accountClaims(login) {
  return {
    sub: login,
    email: login.includes('@') ? login : `${login}@example.com`,
    email_verified: !login.startsWith('unverified'),
    name: login,
  };
}

const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad --port ${args.port}`);
const clients = parseClients(args.clients);

// The issuer needs the real port, which is only known after listen() when
// --port is 0; so listen first and install the provider's handler afterwards.
let handler = (_req, res) => {
  res.statusCode = 503;
  res.end('starting');
};
const server = createServer((req, res) => handler(req, res));

server.listen(port, args['listen-host'], () => {
  const issuer = `http://${args['issuer-host']}:${server.address().port}`;

  // Fresh RSA signing key per start: nothing secret is ever stored on disk.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' };

  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'offline_access'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    features: {
      devInteractions: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    // Browsers (the SPA) may call the token endpoint of public clients and
    // userinfo from their redirect URIs' origins; nothing else cross-origin.
    clientBasedCORS(ctx, origin, client) {
      if (origin === 'null') return false;
      if (ctx.oidc.route === 'userinfo' || client.clientAuthMethod === 'none') {
        return client.redirectUris.some((uri) => URL.parse(uri)?.origin === origin);
      }
      return false;
    },
    async findAccount(_ctx, id) {
      return {
        accountId: id,
        async claims() {
          return accountClaims(id);
        },
      };
    },
  });

  provider.on('server_error', (_ctx, err) => process.stderr.write(`oidc-provider server_error: ${err.stack}\n`));

  handler = provider.callback();
  process.stdout.write(`OIDC_PROVIDER_READY ${issuer}\n`);
});

server.on('error', (err) => fail(`cannot listen: ${err.message}`));

function shutdown(why) {
  process.stderr.write(`oidc-provider: exiting (${why})\n`);
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
if (!args['ignore-stdin']) {
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}
