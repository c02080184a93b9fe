/**
 * POST /logout?scope=global|local|others (internal/api/logout.go): 204, having deleted the
 * sessions the scope names (their refresh tokens go with them).
 */
import type { AuthContext } from "../context.ts";
import { badRequest } from "../errors.ts";
import { requireAuthentication } from "../principal.ts";
import { logout as endSessions, type LogoutScope } from "../sessions.ts";

function scopeOf(url: URL): LogoutScope {
  const scope = url.searchParams.get("scope") ?? "";
  if (scope === "" || scope === "global") return "global";
  if (scope === "local" || scope === "others") return scope;
  throw badRequest("validation_failed", `Unsupported logout scope ${JSON.stringify(scope)}`);
}

export async function logout(req: Request, ctx: AuthContext): Promise<Response> {
  const { user, session } = await requireAuthentication(req, ctx);
  const scope = scopeOf(new URL(req.url));
  await endSessions(ctx.sql, user.id, session?.id ?? null, scope);
  return new Response(null, { status: 204 });
}
