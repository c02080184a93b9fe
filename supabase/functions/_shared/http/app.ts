/**
 * A small Hono-like application: a route table, and one pipeline every request goes through —
 * CORS, routing (404/405), authentication, the request gate of user routes (rate limit and
 * Idempotency-Key, see gate.ts), the handler, one error handler, one log line.
 * The result is `{ fetch }`, so handlers are testable with an in-memory `Request`.
 */
import { authenticate, type AuthRequirement, type Principal, type TokenVerifier } from "../auth.ts";
import { isDatabaseUnavailable } from "../db.ts";
import { ApiError, databaseUnavailable, methodNotAllowed, notFound } from "../errors.ts";
import type { LogFields, Logger } from "../log.ts";
import { DEFAULT_BODY_READ_TIMEOUT_MS, withBodyReadTimeout } from "./body.ts";
import { preflight, withCors } from "./cors.ts";
import { allowedMethods, routeForMethod, withoutBody } from "./methods.ts";
import { errorResponse, json } from "./respond.ts";
import { HttpRequestGate } from "./gate.ts";
import { bufferBody, IdempotentReplay, readIdempotencyKey, requestHash } from "./idempotency.ts";
import { bucketForRoute, type RateBucket } from "./rate_limit.ts";
import { RouteTable } from "./route_table.ts";
import { type TraceContext, traceFrom } from "./trace.ts";

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
    handle(ctx: RequestContext & { principal: UserPrincipal }): Promise<Response>;
  }
  | RouteBase & {
    auth: "service";
    handle(ctx: RequestContext & { principal: ServicePrincipal }): Promise<Response>;
  };

export interface AppOptions {
  /** The function's name: the first path segment Supabase passes (`/orchestrator/status`). */
  functionName: string;
  routes: Route[];
  verifier: TokenVerifier;
  log: Logger;
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

function toApiError(error: unknown, log: Logger, fields: LogFields): ApiError {
  if (error instanceof ApiError) return error;
  if (isDatabaseUnavailable(error)) {
    log.warn("db.unavailable", { ...fields, error_name: errorName(error), ...errorCode(error) });
    return databaseUnavailable(error);
  }
  log.error("request.failed", { ...fields, error_name: errorName(error), ...errorCode(error) });
  return new ApiError(500, "INTERNAL", "Something went wrong on our side.", { cause: error });
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * A SQLSTATE, driver code or constraint name is safe to log; a message may contain user text,
 * so never that.
 */
function errorCode(error: unknown): LogFields {
  const fields: LogFields = {};
  if (typeof error === "object" && error !== null) {
    if ("code" in error) fields.error_code = String(error.code);
    if ("constraint_name" in error && typeof error.constraint_name === "string") {
      fields.constraint = error.constraint_name;
    }
  }
  return fields;
}

export function createApp(options: AppOptions): App {
  const table = new RouteTable(options.routes);
  const { log, verifier } = options;
  const bodyReadTimeoutMs = options.bodyReadTimeoutMs ?? DEFAULT_BODY_READ_TIMEOUT_MS;

  /**
   * The gate of a user request (rate-limit bucket, Idempotency-Key), and the request the
   * handler reads: with a key the body is read here (413 past the limit) to hash it.
   */
  async function gateFor(
    ctx: RequestContext,
    route: Extract<Route, { auth: "user" }>,
  ): Promise<{ gate: HttpRequestGate | null; req: Request }> {
    const bucket = route.rateLimit ?? bucketForRoute(route.path);
    const idempotent = route.idempotent ?? route.method === "POST";
    const key = idempotent ? readIdempotencyKey(ctx.req.headers) : null;
    if (key === null) {
      return {
        gate: bucket === false ? null : new HttpRequestGate({ bucket, idempotency: null }),
        req: ctx.req,
      };
    }
    const { req, bytes } = await bufferBody(ctx.req);
    const hash = await requestHash(req.method, route.path, bytes);
    return {
      gate: new HttpRequestGate({
        bucket: bucket === false ? null : bucket,
        idempotency: { key, route: route.path, hash },
      }),
      req,
    };
  }

  async function dispatch(
    ctx: RequestContext,
    route: Route,
    onGate: (gate: HttpRequestGate) => void,
  ): Promise<Response> {
    const requirement: AuthRequirement = route.auth;
    if (route.auth === "none") return await route.handle(ctx);
    const principal = await authenticate(ctx.req, route.auth, verifier);
    ctx.logFields.user_id = principal.kind === "user" ? principal.userId : null;
    if (route.auth === "user" && principal.kind === "user") {
      const { gate, req } = await gateFor(ctx, route);
      if (gate === null) return await route.handle({ ...ctx, principal });
      onGate(gate);
      return await route.handle({
        ...ctx,
        req,
        principal: { ...principal, claims: gate.attachTo(principal.claims) },
      });
    }
    if (route.auth === "service" && principal.kind === "service") {
      return await route.handle({ ...ctx, principal });
    }
    throw new Error(`authenticate returned the wrong principal for ${requirement}`);
  }

  return {
    async fetch(req) {
      const started = performance.now();
      const url = new URL(req.url);
      const path = routePath(url.pathname, options.functionName);
      const trace = traceFrom(req.headers);
      const matched = table.match(path);
      // Only route names are logged (a parameter route's pattern): a path is text the client
      // chose.
      const logFields: LogFields = {
        route: matched?.pattern ?? "(unknown)",
        trace_id: trace.traceId,
      };
      if (req.method === "OPTIONS") return preflight();

      let response: Response;
      const gated: { gate: HttpRequestGate | null } = { gate: null };
      try {
        if (!matched) throw notFound(`No route named "${path.slice(0, 64)}".`);
        const route = routeForMethod(matched.routes, req.method);
        if (!route) throw methodNotAllowed(allowedMethods(matched.routes));
        // Only POST routes read a body; theirs is cut after the read timeout (408).
        const timed = route.method === "POST" ? withBodyReadTimeout(req, bodyReadTimeoutMs) : req;
        response = await dispatch(
          { req: timed, url, trace, log, logFields, receivedAt: started, params: matched.params },
          route,
          (gate) => gated.gate = gate,
        );
      } catch (error) {
        if (error instanceof IdempotentReplay) {
          logFields.idempotency = "replayed";
          response = error.response();
        } else {
          const apiError = toApiError(error, log, logFields);
          logFields.code = apiError.code;
          response = errorResponse(apiError);
        }
      }
      // Stores the response under the request's Idempotency-Key, or releases the key.
      if (gated.gate) response = await gated.gate.finish(response, log, logFields);
      if (req.method === "HEAD") response = await withoutBody(response);
      response.headers.set("X-Trace-Id", trace.traceId);
      logFields.status = response.status;
      logFields.execution_time_ms = Math.round(performance.now() - started);
      log.info("request", logFields);
      return withCors(response);
    },
  };
}

export { json };
