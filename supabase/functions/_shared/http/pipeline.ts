/**
 * The steps every request goes through (createApp composes them, app.ts): the response's
 * finishing touches and log line, errors as responses, routing, authentication; the request
 * gate of user routes is in gate_middleware.ts. Each step reads and adds to one
 * `PipelineContext`; the last, `handleRoute`, hands the route's handler its typed context.
 */
import { authenticate, type Principal, type TokenVerifier } from "../auth.ts";
import { methodNotAllowed, notFound } from "../errors.ts";
import type { LogFields, Logger } from "../log.ts";
import type { UserDb } from "../user_db.ts";
import type { RequestContext, Route } from "./app.ts";
import { withBodyReadTimeout } from "./body.ts";
import { withCors } from "./cors.ts";
import { responseForError } from "./error_response.ts";
import type { HttpRequestGate } from "./gate.ts";
import { allowedMethods, routeForMethod, withoutBody } from "./methods.ts";
import type { Middleware } from "./middleware.ts";
import type { RouteTable } from "./route_table.ts";
import { traceFrom } from "./trace.ts";

/** What the pipeline knows of a request so far; each step fills in its part. */
export interface PipelineContext extends RequestContext {
  /** The route part of the path (app.ts routePath). */
  path: string;
  /** Set by `routing`. */
  route: Route | null;
  /** Set by `authentication` (routes that are not `auth: "none"`). */
  principal: Principal | null;
  /** Set by the request gate (user routes): the request's gate, null when it has none. */
  gate: HttpRequestGate | null;
  /** Set by the request gate (user routes): the handler's transactions. */
  db: UserDb | null;
}

export function pipelineContext(
  req: Request,
  url: URL,
  path: string,
  log: Logger,
): PipelineContext {
  const trace = traceFrom(req.headers);
  // Only route names are logged (a parameter route's pattern, set by `routing`): a path is
  // text the client chose.
  const logFields: LogFields = { route: "(unknown)", trace_id: trace.traceId };
  return {
    req,
    url,
    trace,
    log,
    logFields,
    receivedAt: performance.now(),
    params: {},
    path,
    route: null,
    principal: null,
    gate: null,
    db: null,
  };
}

/** HEAD without a body, `X-Trace-Id`, the request's one log line, CORS. */
export function finishResponse(): Middleware<PipelineContext> {
  return async (ctx, next) => {
    const method = ctx.req.method;
    let response = await next();
    if (method === "HEAD") response = await withoutBody(response);
    response.headers.set("X-Trace-Id", ctx.trace.traceId);
    ctx.logFields.status = response.status;
    ctx.logFields.execution_time_ms = Math.round(performance.now() - ctx.receivedAt);
    ctx.log.info("request", ctx.logFields);
    return withCors(response);
  };
}

/** Whatever a later step throws becomes its response here (error_response.ts). */
export function errorResponses(): Middleware<PipelineContext> {
  return async (ctx, next) => {
    try {
      return await next();
    } catch (error) {
      return responseForError(error, ctx);
    }
  };
}

/** The route (404, 405), its path parameters, and the POST body's read timeout (408). */
export function routing(
  table: RouteTable<Route>,
  bodyReadTimeoutMs: number,
): Middleware<PipelineContext> {
  return async (ctx, next) => {
    const matched = table.match(ctx.path);
    if (!matched) throw notFound(`No route named "${ctx.path.slice(0, 64)}".`);
    ctx.logFields.route = matched.pattern;
    const route = routeForMethod(matched.routes, ctx.req.method);
    if (!route) throw methodNotAllowed(allowedMethods(matched.routes));
    ctx.route = route;
    ctx.params = matched.params;
    // Only POST routes read a body; theirs is cut after the read timeout (408).
    if (route.method === "POST") ctx.req = withBodyReadTimeout(ctx.req, bodyReadTimeoutMs);
    return await next();
  };
}

/** The principal of a user or service route (401, 403 from authenticate). */
export function authentication(verifier: TokenVerifier): Middleware<PipelineContext> {
  return async (ctx, next) => {
    const route = routeOf(ctx);
    if (route.auth === "none") return await next();
    const principal = await authenticate(ctx.req, route.auth, verifier);
    ctx.principal = principal;
    ctx.logFields.user_id = principal.kind === "user" ? principal.userId : null;
    return await next();
  };
}

/** The last step: the route's handler, with the context its kind of route is promised. */
export async function handleRoute(ctx: PipelineContext): Promise<Response> {
  const route = routeOf(ctx);
  const request: RequestContext = {
    req: ctx.req,
    url: ctx.url,
    trace: ctx.trace,
    log: ctx.log,
    logFields: ctx.logFields,
    receivedAt: ctx.receivedAt,
    params: ctx.params,
  };
  const { principal, db } = ctx;
  if (route.auth === "none") return await route.handle(request);
  if (route.auth === "user" && principal?.kind === "user" && db !== null) {
    return await route.handle({ ...request, principal, db });
  }
  if (route.auth === "service" && principal?.kind === "service") {
    return await route.handle({ ...request, principal });
  }
  throw new Error(`authenticate returned the wrong principal for ${route.auth}`);
}

export function routeOf(ctx: PipelineContext): Route {
  if (ctx.route === null) throw new Error("the routing step has not run");
  return ctx.route;
}
