/**
 * Auth's routes, by method and path under `/auth/v1`, as GoTrue's router (internal/api/api.go)
 * mounts them. A path no route has answers as GoTrue's router does: 404 "404 page not found";
 * a known path with another method 405.
 */
import type { AuthContext } from "./context.ts";
import { errorResponse } from "./errors.ts";
import {
  createUser,
  deleteUserById,
  getUserById,
  listUsers,
  updateUserById,
} from "./routes/admin_users.ts";
import { logout } from "./routes/logout.ts";
import { health, jwks, settings } from "./routes/meta.ts";
import { signup } from "./routes/signup.ts";
import { token } from "./routes/token.ts";
import { getUser, updateUser } from "./routes/user.ts";

type Handler = (req: Request, ctx: AuthContext, param: string) => Promise<Response> | Response;

interface Route {
  method: string;
  /** A path, or one with a single `{param}` segment. */
  path: RegExp;
  handler: Handler;
}

const exact = (path: string) => new RegExp(`^${path.replaceAll(".", "\\.")}$`);
const USER_ID = /^\/admin\/users\/([^/]+)$/;

const ROUTES: Route[] = [
  { method: "GET", path: exact("/health"), handler: () => health() },
  { method: "GET", path: exact("/.well-known/jwks.json"), handler: (_req, ctx) => jwks(ctx) },
  { method: "GET", path: exact("/settings"), handler: () => settings() },
  { method: "POST", path: exact("/signup"), handler: signup },
  { method: "POST", path: exact("/token"), handler: token },
  { method: "POST", path: exact("/logout"), handler: logout },
  { method: "GET", path: exact("/user"), handler: getUser },
  { method: "PUT", path: exact("/user"), handler: updateUser },
  { method: "GET", path: exact("/admin/users"), handler: listUsers },
  { method: "POST", path: exact("/admin/users"), handler: createUser },
  { method: "GET", path: USER_ID, handler: getUserById },
  { method: "PUT", path: USER_ID, handler: updateUserById },
  { method: "DELETE", path: USER_ID, handler: deleteUserById },
];

/** The path under `/auth/v1`, one trailing slash dropped (chi matches both). */
export function authSubpath(pathname: string): string {
  const rest = pathname.replace(/^\/auth\/v1/, "") || "/";
  return rest.length > 1 && rest.endsWith("/") ? rest.slice(0, -1) : rest;
}

function pathParameter(pattern: RegExp, path: string): string {
  const raw = pattern.exec(path)?.[1] ?? "";
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw; // a malformed escape is no id either
  }
}

/** Runs the route for `path`; every error becomes GoTrue's error response. */
export async function route(req: Request, path: string, ctx: AuthContext): Promise<Response> {
  const method = req.method === "HEAD" ? "GET" : req.method;
  const matching = ROUTES.filter((candidate) => candidate.path.test(path));
  const found = matching.find((candidate) => candidate.method === method);
  if (!found) {
    if (matching.length === 0) {
      return new Response("404 page not found\n", {
        status: 404,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    const allow = [...new Set(matching.map((candidate) => candidate.method))].join(", ");
    return new Response(null, { status: 405, headers: { allow } });
  }
  try {
    return await found.handler(req, ctx, pathParameter(found.path, path));
  } catch (error) {
    return errorResponse(error, req);
  }
}
