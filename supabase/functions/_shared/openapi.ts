/**
 * The OpenAPI 3.1 document of the orchestrator, generated from the same zod schemas that
 * validate requests (schemas.ts) and describe responses (responses.ts), so it cannot drift.
 */
import { z } from "zod";
import { CalendarLinkResponse, CalendarRevokeResponse } from "./calendar/schemas.ts";
import * as responses from "./responses.ts";
import {
  DayDoneBody,
  DayRunBody,
  IntentControlBody,
  IntentPauseBody,
  IntentSyncBody,
} from "./schemas.ts";
import { CreateWebhookBody, DeliverBody } from "./webhooks/schemas.ts";

type Components = Record<string, z.ZodType>;

const SCHEMAS: Components = {
  IntentSyncRequest: IntentSyncBody,
  DayRunRequest: DayRunBody,
  DayDoneRequest: DayDoneBody,
  IntentPauseRequest: IntentPauseBody,
  IntentControlRequest: IntentControlBody,
  IntentControl: responses.IntentControlResponse,
  Error: responses.ErrorResponse,
  Intent: responses.IntentResponse,
  DayRun: responses.DayRunResponse,
  DayRunProvisional: responses.DayRunProvisionalResponse,
  DayDone: responses.DayDoneResponse,
  Status: responses.StatusResponse,
  Sessions: responses.SessionsResponse,
  Health: responses.HealthResponse,
  DayTick: responses.DayTickResponse,
  Metrics: responses.MetricsResponse,
  CalendarLink: CalendarLinkResponse,
  CalendarRevoke: CalendarRevokeResponse,
  WebhookCreateRequest: CreateWebhookBody,
  WebhookDeliverRequest: DeliverBody,
};

const ref = (name: keyof typeof SCHEMAS & string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (name: string) => ({ "application/json": { schema: ref(name) } });

function errors(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [String(status), {
      description: "Error",
      content: jsonContent("Error"),
    }]),
  );
}

const USER_ERRORS = [400, 401, 403, 429, 503];
const POST_ERRORS = [...USER_ERRORS, 408, 409, 413, 415, 422];

const idempotencyKey = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description: "Replays the stored response for 24 h; a different body gives 422.",
  schema: { type: "string", minLength: 1, maxLength: 255 },
};
const userIdHeader = {
  name: "X-User-ID",
  in: "header",
  required: false,
  description: "The user a service-role token acts for (required with the service role).",
  schema: { type: "string", format: "uuid" },
};

/** An optional body that must be empty or `{}` (supabase-js `functions.invoke` POSTs one). */
const EMPTY_BODY = {
  required: false,
  content: {
    "application/json": {
      schema: { type: "object", properties: {}, additionalProperties: false },
    },
  },
};

function post(summary: string, request: string, response: string, extra: number[] = []) {
  return {
    post: {
      summary,
      parameters: [userIdHeader, idempotencyKey],
      requestBody: { required: true, content: jsonContent(request) },
      responses: {
        "200": { description: "OK", content: jsonContent(response) },
        ...(response === "Intent" || response === "DayRun"
          ? { "201": { description: "Created", content: jsonContent(response) } }
          : {}),
        ...errors(...POST_ERRORS, ...extra),
      },
    },
  };
}

/** A POST whose body may be left out (read as `{}`). */
function bodyOptional(item: ReturnType<typeof post>) {
  return { post: { ...item.post, requestBody: { ...item.post.requestBody, required: false } } };
}

const COMPONENT_REF = "#/components/schemas/";
const SHARED_REF = `${COMPONENT_REF}__shared#/$defs/`;

/**
 * Zod puts sub-schemas used by several components under a `__shared` entry with refs that are
 * not JSON pointers; lift them into components of their own, and drop `$id`/`$schema`, which
 * OpenAPI components do not need.
 */
function tidy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(tidy);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === "$id" || key === "$schema") continue;
    if (key === "$ref" && typeof inner === "string" && inner.startsWith(SHARED_REF)) {
      out[key] = `${COMPONENT_REF}Shared_${inner.slice(SHARED_REF.length)}`;
    } else {
      out[key] = tidy(inner);
    }
  }
  return out;
}

function componentSchemas(): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(SCHEMAS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io: "input",
    unrepresentable: "any",
    uri: (id) => `${COMPONENT_REF}${id}`,
  });
  const components: Record<string, unknown> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    if (id !== "__shared") components[id] = tidy(schema);
  }
  const shared = schemas.__shared?.$defs ?? {};
  for (const [id, schema] of Object.entries(shared)) components[`Shared_${id}`] = tidy(schema);
  return components;
}

/** Builds the document. `serverUrl` is the function's base URL. */
export function openApiDocument(serverUrl: string) {
  const schemas = componentSchemas();
  const dayRun = post("Plan a day (or return its plan)", "DayRunRequest", "DayRun", [409]).post;
  return {
    openapi: "3.1.0",
    info: {
      title: "Wisely Orchestrator",
      version: "1.1.0",
      description: "Plans a learner's day from four AI agents. See README.md.",
    },
    servers: [{ url: serverUrl }],
    // A user's JWT as the bearer, or a secret key (the service principal) in `apikey` or as the
    // bearer (spec 5.1).
    security: [{ bearer: [] }, { apikey: [] }],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "A user JWT, or a secret key." },
        apikey: { type: "apiKey", in: "header", name: "apikey", description: "A secret key." },
      },
      schemas,
    },
    paths: {
      "/health": {
        get: {
          summary: "Liveness and database reachability",
          security: [],
          responses: {
            "200": { description: "Up", content: jsonContent("Health") },
            "503": { description: "Database down", content: jsonContent("Health") },
          },
        },
      },
      "/intent.sync": post(
        "Create or update the active learning intent",
        "IntentSyncRequest",
        "Intent",
      ),
      "/intent.pause": post(
        "Pause the active intent through `until` (a local date; at most 60 days)",
        "IntentPauseRequest",
        "IntentControl",
      ),
      "/intent.resume": bodyOptional(post(
        "Resume the active intent from today (no-op when not paused)",
        "IntentControlRequest",
        "IntentControl",
      )),
      "/intent.cancel": bodyOptional(post(
        "End the active intent; its sessions and completions stay",
        "IntentControlRequest",
        "IntentControl",
      )),
      "/day.run": {
        post: {
          ...dayRun,
          responses: {
            ...dayRun.responses,
            "202": {
              description: "Provisional: composed from the cache, not stored",
              content: jsonContent("DayRunProvisional"),
            },
          },
          description:
            "With `Accept: text/event-stream`, streams one `agent` event per agent, then `plan`. " +
            "202: another request still ran this day at this one's deadline; the plan is " +
            "composed from the cache, not stored; ask again after `Retry-After`.",
        },
      },
      "/day.done": post("Record a day's completion", "DayDoneRequest", "DayDone", [404]),
      "/status": {
        get: {
          summary: "Progress: intent, latest session, freshness, next run, stats",
          parameters: [userIdHeader],
          responses: {
            "200": { description: "OK", content: jsonContent("Status") },
            ...errors(...USER_ERRORS),
          },
        },
        // supabase-js `functions.invoke` POSTs by default.
        post: {
          summary: "As GET /status; the body must be empty or `{}`",
          parameters: [userIdHeader],
          requestBody: EMPTY_BODY,
          responses: {
            "200": { description: "OK", content: jsonContent("Status") },
            ...errors(...USER_ERRORS, 413, 415),
          },
        },
      },
      "/sessions": {
        get: {
          summary: "The user's sessions, newest first (keyset pagination)",
          parameters: [
            userIdHeader,
            { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100 } },
            { name: "cursor", in: "query", schema: { type: "string" } },
          ],
          responses: {
            "200": {
              description: "OK (`Accept: text/csv` for RFC 4180 CSV)",
              content: { ...jsonContent("Sessions"), "text/csv": { schema: { type: "string" } } },
            },
            ...errors(...USER_ERRORS),
          },
        },
      },
      "/day.tick": {
        post: {
          summary: "Pre-generate due plans (service role)",
          description: "200 when the batch ended within `tick.answer_within_ms`; else 202 with " +
            "the runs ended so far, the rest finishing after the answer.",
          responses: {
            "200": { description: "OK", content: jsonContent("DayTick") },
            "202": { description: "Accepted, still running", content: jsonContent("DayTick") },
            ...errors(400, 401, 403, 503),
          },
        },
      },
      "/metrics": {
        get: {
          summary: "Agent health over a window (service role)",
          parameters: [{
            name: "window",
            in: "query",
            schema: { type: "integer", minimum: 60, maximum: 604800 },
          }],
          responses: {
            "200": {
              description: "OK (`Accept: text/plain` for Prometheus text format)",
              content: { ...jsonContent("Metrics"), "text/plain": { schema: { type: "string" } } },
            },
            ...errors(400, 401, 403, 503),
          },
        },
      },
      ...webhookPaths(),
      ...calendarPaths(),
      "/openapi.json": {
        get: {
          summary: "This document",
          security: [],
          responses: { "200": { description: "OK" } },
        },
      },
    },
  };
}

/** The webhook routes (spec 12, service role only; see README.md "Webhooks"). */
function webhookPaths() {
  const service = (summary: string, ok: [number, string], extra: number[] = []) => ({
    summary: `${summary} (service role)`,
    responses: { [String(ok[0])]: { description: ok[1] }, ...errors(401, 403, 503, ...extra) },
  });
  const id = { name: "id", in: "path", required: true, schema: { type: "string" } };
  const deliveryId = { ...id, name: "delivery_id" };
  const body = (name: string) => ({ required: true, content: jsonContent(name) });
  return {
    "/webhooks": {
      post: {
        ...service("Register an endpoint; the answer holds its secret, once", [201, "Created"], [
          400,
        ]),
        requestBody: body("WebhookCreateRequest"),
      },
      get: service("The endpoints, without secrets", [200, "OK"]),
    },
    "/webhooks/{id}": {
      delete: {
        ...service("Remove an endpoint and its deliveries", [204, "Deleted"], [404]),
        parameters: [id],
      },
    },
    "/webhooks/{id}/deliveries": {
      get: {
        ...service("The endpoint's deliveries with their attempts, newest first", [200, "OK"], [
          400,
          404,
        ]),
        parameters: [
          id,
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100 } },
          { name: "cursor", in: "query", schema: { type: "string" } },
          { name: "state", in: "query", schema: { enum: ["pending", "succeeded", "failed"] } },
        ],
      },
    },
    "/webhooks/{id}/deliveries/{delivery_id}/retry": {
      post: {
        ...service("Requeue a delivery now", [200, "OK"], [404]),
        parameters: [id, deliveryId],
      },
    },
    "/webhooks.deliver": {
      post: {
        ...service("Run one bounded delivery pass (what Supabase Cron calls)", [200, "OK"], [400]),
        requestBody: { ...body("WebhookDeliverRequest"), required: false },
      },
    },
  };
}

/** The calendar feed routes (spec 12; README.md "Calendar feed"). */
function calendarPaths() {
  return {
    "/calendar.link": {
      post: {
        summary: "A new secret calendar feed URL; the previous one stops working",
        description: "Idempotency-Key is ignored: a stored replay would keep the secret URL.",
        parameters: [userIdHeader],
        requestBody: EMPTY_BODY,
        responses: {
          "201": { description: "Created", content: jsonContent("CalendarLink") },
          ...errors(...USER_ERRORS, 408, 413, 415),
        },
      },
      delete: {
        summary: "Revoke the calendar feed URL (it answers 404 from then on)",
        parameters: [userIdHeader],
        responses: {
          "200": { description: "OK", content: jsonContent("CalendarRevoke") },
          ...errors(...USER_ERRORS),
        },
      },
    },
    "/calendar.ics": {
      get: {
        summary: "The learner's next 14 sessions as RFC 5545 (no Authorization: the key is it)",
        security: [],
        parameters: [{
          name: "key",
          in: "query",
          required: true,
          description: "The secret from calendar.link's URL.",
          schema: { type: "string", pattern: "^[A-Za-z0-9_-]{43}$" },
        }],
        responses: {
          "200": {
            description: "The feed (`ETag`; `If-None-Match` gives 304)",
            content: { "text/calendar": { schema: { type: "string" } } },
          },
          "304": { description: "Not modified" },
          "404": {
            description: "Unknown, revoked or malformed key",
            content: jsonContent("Error"),
          },
          ...errors(503),
        },
      },
    },
  };
}
