/**
 * The reference agents' request pipeline, built from the orchestrator's pieces: the route
 * table (`RouteTable`), CORS (`preflight`), the error vocabulary (`ApiError`) and the
 * service-principal check; failures answer with the protocol's `{ok: false, error, code}`
 * rather than the API's error body.
 *
 * Order: path (404), CORS preflight, method (405), credentials (401), the route. The path is
 * `_faults` for `…/_faults` (with or without a trailing slash), else the protocol's `""`:
 * wherever the function is mounted, every other path is a protocol call.
 */
import type { TokenVerifier } from "../../auth.ts";
import { ApiError, notFound } from "../../errors.ts";
import { preflight } from "../../http/cors.ts";
import { RouteTable } from "../../http/route_table.ts";
import { agentFailureOf, agentInternalError } from "./replies.ts";
import { requireServiceRole } from "./service_auth.ts";

/** The route path of the fault plan's control endpoint. */
export const CONTROL_PATH = "_faults";

/** One method of one path; every route needs the service principal. */
export interface AgentRoute {
  path: "" | typeof CONTROL_PATH;
  method: string;
  handle(request: Request): Promise<Response>;
}

/** Why a path refuses a method (405), in the agents' own words. */
const REFUSALS: Readonly<Record<AgentRoute["path"], string>> = {
  "": "Agents answer POST only.",
  [CONTROL_PATH]: "The fault plan answers GET, PUT and DELETE.",
};

/** The route path a request names: `_faults` or `""` (above). */
export function agentRoutePath(url: URL): AgentRoute["path"] {
  return /\/_faults\/?$/.test(url.pathname) ? CONTROL_PATH : "";
}

/** The handler for `routes`; it never throws (anything unexpected is a bare 500). */
export function createAgentRouter(
  routes: readonly AgentRoute[],
  verifier: TokenVerifier,
): (request: Request) => Promise<Response> {
  const table = new RouteTable(routes);
  return async (request) => {
    try {
      return await dispatch(table, verifier, request);
    } catch (error) {
      return error instanceof ApiError ? agentFailureOf(error) : agentInternalError();
    }
  };
}

async function dispatch(
  table: RouteTable<AgentRoute>,
  verifier: TokenVerifier,
  request: Request,
): Promise<Response> {
  const matched = table.match(agentRoutePath(new URL(request.url)));
  if (!matched) throw notFound("Not found.");
  if (request.method === "OPTIONS") return preflight();
  // The exact method only: unlike the orchestrator's routes (`methods.ts`), HEAD is not GET
  // here; `_faults` has always refused it with `Allow: GET, PUT, DELETE, OPTIONS`.
  const route = matched.routes.find((candidate) => candidate.method === request.method);
  if (!route) throw methodRefused(matched.routes);
  await requireServiceRole(request, verifier);
  return await route.handle(request);
}

/** The 405 for a path's `routes` (one per method): `Allow` lists them and OPTIONS. */
function methodRefused(routes: readonly AgentRoute[]): ApiError {
  const allow = [...routes.map((route) => route.method), "OPTIONS"].join(", ");
  return new ApiError(405, "METHOD_NOT_ALLOWED", REFUSALS[routes[0].path], {
    headers: { Allow: allow },
  });
}
