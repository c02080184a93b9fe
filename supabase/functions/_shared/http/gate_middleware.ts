/**
 * The request gate of user routes as two steps of the pipeline (pipeline.ts): `requestGate`
 * creates the request's gate (rate limit, Idempotency-Key: gate.ts) and the handler's `ctx.db`
 * built with it, so the gate runs as the first statement of the handler's first transaction;
 * `idempotentFinish` stores the final response under the key, or releases it.
 */
import type { Sql } from "../db.ts";
import { type UserDb, userDb } from "../user_db.ts";
import { bufferBody } from "./body.ts";
import { responseForError } from "./error_response.ts";
import { HttpRequestGate } from "./gate.ts";
import { readIdempotencyKey } from "./idempotency_key.ts";
import type { Middleware } from "./middleware.ts";
import type { PipelineContext } from "./pipeline.ts";
import { routeOf } from "./pipeline.ts";
import { bucketForRoute } from "./rate_limit.ts";
import { requestHash } from "./request_hash.ts";
import type { Route } from "./app.ts";

type UserRoute = Extract<Route, { auth: "user" }>;

/** For an app without a pool: its user routes must not open transactions. */
const NO_DATABASE: UserDb = {
  transaction: () => Promise.reject(new Error("createApp was given no sql for ctx.db")),
};

/**
 * The gate and `ctx.db` of a user route. With an Idempotency-Key the body is read here (413
 * past the limit) to hash it, and the handler reads the buffered copy.
 */
export function requestGate(sql: Sql | null): Middleware<PipelineContext> {
  return async (ctx, next) => {
    const route = routeOf(ctx);
    const principal = ctx.principal;
    if (route.auth !== "user" || principal?.kind !== "user") return await next();
    const { gate, req } = await gateFor(ctx.req, route);
    ctx.req = req;
    ctx.gate = gate;
    ctx.db = sql === null ? NO_DATABASE : userDb(sql, principal.claims, gate);
    return await next();
  };
}

/** Stores the response (an error's too) under the request's Idempotency-Key, or releases it. */
export function idempotentFinish(): Middleware<PipelineContext> {
  return async (ctx, next) => {
    const gate = ctx.gate;
    if (gate === null) return await next();
    const response = await next().catch((error: unknown) => responseForError(error, ctx));
    return await gate.complete(response, ctx.log, ctx.logFields);
  };
}

async function gateFor(
  req: Request,
  route: UserRoute,
): Promise<{ gate: HttpRequestGate | null; req: Request }> {
  const bucket = route.rateLimit ?? bucketForRoute(route.path);
  const idempotent = route.idempotent ?? route.method === "POST";
  const key = idempotent ? readIdempotencyKey(req.headers) : null;
  if (key === null) {
    return {
      gate: bucket === false ? null : new HttpRequestGate({ bucket, idempotency: null }),
      req,
    };
  }
  const buffered = await bufferBody(req);
  const hash = requestHash(buffered.req.method, route.path, buffered.bytes);
  return {
    gate: new HttpRequestGate({
      bucket: bucket === false ? null : bucket,
      idempotency: { key, route: route.path, hash },
    }),
    req: buffered.req,
  };
}
