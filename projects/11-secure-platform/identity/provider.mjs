// The local OpenID provider: the certified `oidc-provider` package configured with the tenants,
// clients and people of tenants.json (Keycloak's realm.json says the same for compose).
// It issues RS256 JWT access tokens for the API's audience, carrying `tenant` and `roles`.
//
//   ISSUER=http://127.0.0.1:9400 PORT=9400 TENANTS_FILE=tenants.json \
//   SECRETS_FILE=secrets.json JWKS_FILE=jwks.json node provider.mjs
//
// SECRETS_FILE: {"clients": {client_id: secret}, "users": {username: password}}
// JWKS_FILE: private keys, the first one signs (rotation: put a new key first, keep the old one
// so that tokens it signed still verify until they expire, and restart).
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { timingSafeEqual } from "node:crypto";
import Provider from "oidc-provider";

const env = (name) => {
  if (!process.env[name]) throw new Error(`${name} is not set`);
  return process.env[name];
};
const catalog = JSON.parse(readFileSync(env("TENANTS_FILE"), "utf8"));
const secrets = JSON.parse(readFileSync(env("SECRETS_FILE"), "utf8"));
const jwks = JSON.parse(readFileSync(env("JWKS_FILE"), "utf8"));
const ISSUER = env("ISSUER");
const AUDIENCE = catalog.audience;
const API_SCOPES = "inference:invoke audit:read tenant:admin";
const TOKEN_TTL_S = Number(process.env.TOKEN_TTL_S || 300);

const users = new Map(catalog.users.map((user) => [user.username, user]));
const machineClients = new Map(catalog.clients.map((client) => [client.client_id, client]));
const console_ = catalog.people_client;

const clients = [
  ...catalog.clients.map((client) => ({
    client_id: client.client_id,
    client_secret: secrets.clients[client.client_id],
    grant_types: ["client_credentials"],
    response_types: [],
    redirect_uris: [],
    scope: client.scope,
  })),
  {
    client_id: console_.client_id,
    token_endpoint_auth_method: "none", // a public client: PKCE instead of a secret
    grant_types: ["authorization_code"],
    response_types: ["code"],
    redirect_uris: [console_.redirect_uri],
    scope: console_.scope,
  },
];

// --8<-- [start:claims]
// The tenant and roles come from the provider's own records, never from what a client asks for.
async function extraTokenClaims(ctx, token) {
  if (token.kind === "ClientCredentials") {
    const client = machineClients.get(token.clientId);
    return { tenant: client.tenant, roles: client.roles };
  }
  const user = users.get(token.accountId);
  return user ? { tenant: user.tenant, roles: user.roles } : {};
}
// --8<-- [end:claims]

const provider = new Provider(ISSUER, {
  clients,
  jwks,
  scopes: ["openid", ...API_SCOPES.split(" ")],
  claims: { openid: ["sub"], profile: ["tenant", "roles"] },
  pkce: { required: () => true },
  ttl: {
    AccessToken: TOKEN_TTL_S,
    ClientCredentials: TOKEN_TTL_S,
    AuthorizationCode: 60,
    Grant: 3600,
    IdToken: TOKEN_TTL_S,
    Interaction: 600,
    Session: 3600,
  },
  extraTokenClaims,
  findAccount: async (ctx, id) =>
    users.has(id) ? { accountId: id, claims: async () => ({ sub: id, tenant: users.get(id).tenant }) } : undefined,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => AUDIENCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => {
        if (resource !== AUDIENCE) throw new Error(`unknown resource ${resource}`);
        return {
          audience: AUDIENCE,
          scope: API_SCOPES,
          accessTokenFormat: "jwt",
          accessTokenTTL: TOKEN_TTL_S,
          jwt: { sign: { alg: "RS256" } },
        };
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});
provider.proxy = false;

const page = (body) =>
  `<!doctype html><meta charset="utf-8"><title>Sign in</title><body style="font-family:sans-serif">${body}</body>`;

function passwordMatches(username, password) {
  const expected = Buffer.from(secrets.users[username] ?? "");
  const given = Buffer.from(password ?? "");
  return expected.length > 0 && expected.length === given.length && timingSafeEqual(expected, given);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

// The sign-in page a person sees in the authorization-code flow: check the password, then record
// the consent to the scopes the console asked for and hand back to the provider.
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === "GET") {
    res.setHeader("Content-Type", "text/html; charset=utf-8");
    res.end(
      page(`<h1>Sign in to the inference platform</h1>
<form method="post" action="/interaction/${details.uid}">
<label>User <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button></form>`),
    );
    return;
  }
  const form = await readForm(req);
  const username = form.get("username");
  if (!users.has(username) || !passwordMatches(username, form.get("password"))) {
    res.statusCode = 401;
    res.setHeader("Content-Type", "text/html; charset=utf-8");
    res.end(page(`<p>Wrong user or password.</p><a href="/interaction/${details.uid}">Try again</a>`));
    return;
  }
  const grant = new provider.Grant({ accountId: username, clientId: details.params.client_id });
  const asked = String(details.params.scope || "").split(" ");
  const apiScopes = asked.filter((scope) => API_SCOPES.split(" ").includes(scope)).join(" ");
  grant.addOIDCScope(["openid", apiScopes].join(" ").trim());
  grant.addResourceScope(AUDIENCE, apiScopes);
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: username }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

const handle = provider.callback();
createServer((req, res) => {
  if (req.url.startsWith("/interaction/")) {
    interaction(req, res).catch((error) => {
      res.statusCode = 400;
      res.end(page(`<p>${String(error.message).replace(/[<>&]/g, "")}</p>`));
    });
    return;
  }
  handle(req, res);
}).listen(Number(env("PORT")), "127.0.0.1", () => console.log(`oidc provider on ${ISSUER}`));
