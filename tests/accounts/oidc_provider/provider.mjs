// A real OpenID Connect provider for the sign-in tests: panva's certified oidc-provider, with its
// development login and consent forms, one confidential client, RS256 ID tokens and RP-initiated logout.
//
// Environment: CLIENT_ID, CLIENT_SECRET, REDIRECT_URI (the product's /oidc/callback/),
// POST_LOGOUT_REDIRECT_URI, ACCOUNTS_FILE (JSON: login -> claims, read at every look-up so a test can
// change what the provider says about someone). It listens on a free port of 127.0.0.1 and prints
// {"issuer": "..."} on its first line of output.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const required = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return value;
};

const client = {
  client_id: required('CLIENT_ID'),
  client_secret: required('CLIENT_SECRET'),
  redirect_uris: [required('REDIRECT_URI')],
  post_logout_redirect_uris: [required('POST_LOGOUT_REDIRECT_URI')],
  response_types: ['code'],
  grant_types: ['authorization_code'],
  id_token_signed_response_alg: 'RS256',
};
const accountsFile = required('ACCOUNTS_FILE');

// Accounts are keyed by the login typed into the provider's form, which is also their subject (`sub`).
function accountFor(login) {
  const accounts = JSON.parse(readFileSync(accountsFile, 'utf8'));
  return Object.hasOwn(accounts, login) ? accounts[login] : undefined;
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', use: 'sig', alg: 'RS256' };

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [client],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    // The claims each scope releases (served from the userinfo endpoint, as most providers do).
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'name', 'given_name', 'family_name'],
      groups: ['groups', 'departments'],
    },
    async findAccount(ctx, login) {
      const account = accountFor(login);
      if (!account) {
        return undefined;
      }
      return {
        accountId: login,
        async claims() {
          return { sub: login, ...account };
        },
      };
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    // PKCE for every client, confidential ones included (OAuth 2.1): the product must send it.
    pkce: { required: () => true },
    ttl: {
      Session: 3600,
      Grant: 3600,
      Interaction: 600,
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
    },
  });
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer }));
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
