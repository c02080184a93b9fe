/**
 * Who may call a reference agent: the service principal only (spec 6.2). The orchestrator sends
 * `EDGE_SERVICE_KEY` as `apikey` and as the bearer: a secret key (compared in constant time with
 * the configured secret keys) or a legacy service_role JWT (HS256 with `JWT_SECRET`, ES256/RS256
 * with the project's JWKS, or the exact `SUPABASE_SERVICE_ROLE_KEY`). The checks are the
 * orchestrator's own (`_shared/auth.ts`), so an agent accepts exactly what a service route does.
 */
import { authenticate, type TokenVerifier } from "../../auth.ts";
import type { Config } from "../../config.ts";
import { ApiError, unauthorized } from "../../errors.ts";

/**
 * Why no caller can be let in with this configuration, or null when some credential can be:
 * the reference agent logs it once at start.
 */
export function missingServiceCredentials(config: Config): string | null {
  const canVerify = config.secretKeys.length > 0 || config.legacyServiceRoleKey !== null ||
    config.jwtSecret !== null || config.jwks !== null || config.supabaseUrl !== null;
  if (canVerify) return null;
  return "no SUPABASE_SECRET_KEYS, SUPABASE_SERVICE_ROLE_KEY, JWT_SECRET, SUPABASE_JWKS or " +
    "SUPABASE_URL: every request will be refused";
}

/**
 * Resolves when the request carries the service principal; else throws a 401 `ApiError`
 * (`WWW-Authenticate: Bearer`): a user's token is refused as 401 too, not the API's 403.
 */
export async function requireServiceRole(
  request: Request,
  verifier: TokenVerifier,
): Promise<void> {
  try {
    await authenticate(request, "service", verifier);
  } catch (cause) {
    if (!(cause instanceof ApiError)) throw cause;
    const message = cause.status === 403
      ? "Only the service principal may call agents."
      : cause.message;
    throw unauthorized(message, cause);
  }
}
