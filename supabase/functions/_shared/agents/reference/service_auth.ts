/**
 * Who may call a reference agent: the service role only (spec 6.2: the orchestrator sends
 * `EDGE_SERVICE_JWT`). The default verifier checks HS256 tokens against `JWT_SECRET`; a
 * deployment with asymmetric keys passes another `ServiceTokenVerifier` (the orchestrator's
 * `TokenVerifier` from `_shared/auth.ts` has this shape).
 */
import { jwtVerify } from "jose";
import { withVerifiedTokenCache } from "../../verified_tokens.ts";

export interface ServiceTokenVerifier {
  /** Verifies the bearer token and gives its role; rejects when the token is not valid. */
  verify(token: string): Promise<{ role: unknown }>;
}

/** Why a request is not allowed in. */
export class ServiceAuthError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ServiceAuthError";
  }
}

/** HS256 with the shared secret; `null` (no `JWT_SECRET`) refuses every token. */
export function hs256ServiceVerifier(secret: Uint8Array | null): ServiceTokenVerifier {
  const verify = withVerifiedTokenCache(async (token: string) => {
    if (!secret) throw new ServiceAuthError("This deployment has no JWT_SECRET to verify with.");
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ["HS256"],
      requiredClaims: ["exp"],
    });
    return { role: payload.role, exp: payload.exp };
  }, (verified) => verified.exp);
  return { verify };
}

const MAX_TOKEN_LENGTH = 8192;

/** Resolves when the request carries a valid service_role bearer; else throws `ServiceAuthError`. */
export async function requireServiceRole(
  request: Request,
  verifier: ServiceTokenVerifier,
): Promise<void> {
  const header = request.headers.get("Authorization")?.trim() ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new ServiceAuthError("A service_role bearer token is required.");
  const token = match[1];
  if (token.length > MAX_TOKEN_LENGTH) throw new ServiceAuthError("The bearer token is too large.");
  let role: unknown;
  try {
    ({ role } = await verifier.verify(token));
  } catch (cause) {
    if (cause instanceof ServiceAuthError) throw cause;
    throw new ServiceAuthError("The bearer token is not valid.", { cause });
  }
  if (role !== "service_role") throw new ServiceAuthError("Only the service role may call agents.");
}
