/**
 * A small Hono-like application: a route table, and one pipeline of middleware every request
 * goes through (pipeline.ts, gate_middleware.ts): the log line and CORS, errors as responses,
 * routing (404/405), authentication, the request gate of user routes (rate limit and
 * Idempotency-Key, see gate.ts) with their transactions on `ctx.db`, the handler.
 * The result is `{ fetch }`, so handlers are testable with an in-memory `Request`.
 */
import type { Principal, TokenVerifier } from "../auth.ts";
import type { Sql } from "../db.ts";
import type { LogFields, Logger } from "../log.ts";
import type { UserDb } from "../user_db.ts";
import { DEFAULT_BODY_READ_TIMEOUT_MS } from "./body.ts";
import { preflight } from "./cors.ts";
import { idempotentFinish, requestGate } from "./gate_middleware.ts";
import { compose } from "./middleware.ts";
import {
  authentication,
  errorResponses,
  finishResponse,
  handleRoute,
  pipelineContext,
  routing,
} from "./pipeline.ts";
import { json } from "./respond.ts";
import type { RateBucket } from "./rate_limit.ts";
import { RouteTable } from "./route_table.ts";
import type { TraceContext } from "./trace.ts";

export type Method = "GET" | "POST" | "DELETE";

export interface RequestContext {
  req: Request;
  url: URL;
  trace: TraceContext;
  log: Logger;
  /** Fields the handler adds to the request's log line (cache counts, flags). */
  logFields: LogFields;
  /** `performance.now()` when the request reached the pipeline: deadlines count from here. */
  receivedAt: number;
  /** The values of the route path's `:name` segments (route_table.ts); `{}` for most routes. */
  params: Readonly<Record<string, string>>;
}

export type UserPrincipal = Extract<Principal, { kind: "user" }>;
export type ServicePrincipal = Extract<Principal, { kind: "service" }>;

/** What a user route's handler gets: the user, and their transactions for this request. */
export interface UserRequestContext extends RequestContext {
  principal: UserPrincipal;
  /** The request's transactions as the user; the first runs the request's gate (gate.ts). */
  db: UserDb;
}

export interface ServiceRequestContext extends RequestContext {
  principal: ServicePrincipal;
}

interface RouteBase {
  method: Method;
  /**
   * The route name after the function's name, e.g. `intent.sync`; `:name` segments are
   * parameters (`webhooks/:id`, see route_table.ts).
   */
  path: string;
}

export type Route =
  | RouteBase & { auth: "none"; handle(ctx: RequestContext): Promise<Response> }
  | RouteBase & {
    auth: "user";
    /**
     * The rate-limit bucket the route draws on (spec 9); false: none. Default:
     * `bucketForRoute(path)` (`day_run` for day.run, else `default`).
     */
    rateLimit?: RateBucket | false;
    /** Honour `Idempotency-Key` (spec 5.7). Default: true for POST. */
    idempotent?: boolean;
    handle(ctx: UserRequestContext): Promise<Response>;
  }
  | RouteBase & {
    auth: "service";
    handle(ctx: ServiceRequestContext): Promise<Response>;
  };

export interface AppOptions {
  /** The function's name: the first path segment Supabase passes (`/orchestrator/status`). */
  functionName: string;
  routes: Route[];
  verifier: TokenVerifier;
  log: Logger;
  /**
   * The pool user routes' transactions run on (`ctx.db`). @default none: for an app whose
   * user routes never reach the database; their `ctx.db.transaction` then fails (a 500).
   */
  sql?: Sql;
  /**
   * A POST body must have arrived this long after the handler starts reading it, else 408
   * `REQUEST_TIMEOUT`. @default DEFAULT_BODY_READ_TIMEOUT_MS (10 s)
   */
  bodyReadTimeoutMs?: number;
}

export interface App {
  fetch(req: Request): Promise<Response>;
}

/** The route part of a path: after `/<functionName>/`, wherever the function is mounted. */
export function routePath(pathname: string, functionName: string): string {
  const segments = pathname.split("/").filter((s) => s !== "");
  const at = segments.indexOf(functionName);
  return (at === -1 ? segments : segments.slice(at + 1)).join("/");
}

export function createApp(options: AppOptions): App {
  const table = new RouteTable(options.routes);
  const pipeline = compose([
    finishResponse(),
    errorResponses(),
    routing(table, options.bodyReadTimeoutMs ?? DEFAULT_BODY_READ_TIMEOUT_MS),
    authentication(options.verifier),
    requestGate(options.sql ?? null),
    idempotentFinish(),
  ], handleRoute);
  return {
    async fetch(req) {
      if (req.method === "OPTIONS") return preflight();
      const url = new URL(req.url);
      const path = routePath(url.pathname, options.functionName);
      return await pipeline(pipelineContext(req, url, path, options.log));
    },
  };
}

export { json };
