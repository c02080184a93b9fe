/**
 * GET /health, GET /settings and GET /.well-known/jwks.json, as GoTrue answers them for the
 * CLI's default configuration: e-mail sign-up confirmed at once, anonymous sign-ins on, no phone
 * or external providers. The JWKS lists the public key only.
 */
import type { AuthContext } from "../context.ts";
import { sendJson } from "../http.ts";

const EXTERNAL_PROVIDERS = [
  "apple",
  "azure",
  "bitbucket",
  "discord",
  "facebook",
  "snapchat",
  "figma",
  "fly",
  "github",
  "gitlab",
  "google",
  "keycloak",
  "kakao",
  "linkedin",
  "linkedin_oidc",
  "notion",
  "spotify",
  "slack",
  "slack_oidc",
  "workos",
  "twitch",
  "twitter",
];

export function health(): Response {
  return sendJson({
    version: "local",
    name: "GoTrue",
    description: "GoTrue is a user registration and authentication API",
  });
}

export function settings(): Response {
  const external: Record<string, boolean> = { anonymous_users: true };
  for (const provider of EXTERNAL_PROVIDERS) external[provider] = false;
  Object.assign(external, { email: true, phone: false, zoom: false });
  return sendJson({
    external,
    disable_signup: false,
    mailer_autoconfirm: true,
    phone_autoconfirm: false,
    sms_provider: "",
    saml_enabled: false,
    saml_private_key_next_configured: false,
    passkeys_enabled: false,
  });
}

export function jwks(ctx: AuthContext): Response {
  return sendJson({ keys: [ctx.signingKey.publicJwk] }, 200, {
    "cache-control": "public, max-age=600",
  });
}
