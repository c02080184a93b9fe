/**
 * A reference agent (spec 6.2, 6.4): one HTTP handler per agent name, answering the agent
 * protocol with deterministic content, a strong ETag of the content and `304` on a matching
 * `If-None-Match`. clo, ta and socratic answer a week pack when the request accepts one
 * (`accept: ["week_pack"]`), else the requested day; the ETag is that of the answer sent (the
 * whole pack, or the day). Only the service principal may call it (service_auth.ts). In the local stack, with
 * `config.agentFaultInjection`, it also obeys injected faults (see `faults.ts`).
 *
 * Order of checks: the `_faults` control path (below), CORS preflight, method, service
 * credentials, fault (latency, hang, status), body, then the answer (malformed when the fault asks
 * for it).
 *
 * Each agent instance owns a scripted fault plan (`fault_plan.ts`) consulted after the
 * `X-Wisely-Fault` header, and counts the protocol calls it receives. With fault injection on,
 * `…/agent-<name>/_faults` controls that plan (service role only, like the protocol):
 * `GET` → `{steps, calls}`; `PUT {"steps": [{"fault": {...}, "count": N | "always"}]}` replaces
 * the steps; `DELETE` empties them. `PUT` and `DELETE` reset `calls` and answer the new state.
 * With fault injection off every request to `_faults` is a 404, whatever its method or token.
 */
import { createTokenVerifier, type TokenVerifier } from "../../auth.ts";
import type { Config } from "../../config.ts";
import { createLogger } from "../../log.ts";
import { preflight, withCors } from "../../http/cors.ts";
import { sleep, untilAborted } from "../deadline.ts";
import { type AgentName, AgentRequestSchema } from "../protocol.ts";
import { referenceAnswer } from "./content.ts";
import { contentEtag } from "./etag.ts";
import { ifNoneMatchMatches } from "../../http/etag.ts";
import {
  createScriptedFaultPlan,
  FaultStepsBodySchema,
  type ScriptedFaultPlan,
} from "./fault_plan.ts";
import {
  type Fault,
  type FaultPlan,
  FaultSpecError,
  firstFault,
  headerFaultPlan,
} from "./faults.ts";
import { missingServiceCredentials, requireServiceRole, ServiceAuthError } from "./service_auth.ts";

/** Statuses whose responses cannot have a body. */
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/** Largest request body accepted: 64 KiB (as the orchestrator's own limit). */
export const MAX_AGENT_REQUEST_BYTES = 64 * 1024;

export interface ReferenceAgentOptions {
  config: Config;
  /**
   * Checks the credentials (`apikey`, bearer). Default: the orchestrator's verifier for
   * `config` (secret keys, legacy service_role JWTs).
   */
  verifier?: TokenVerifier;
  /**
   * Where injected faults come from; consulted only when `config.agentFaultInjection` is true.
   * Default: the `X-Wisely-Fault` header.
   */
  faults?: FaultPlan;
  /**
   * The persistent plan consulted after `faults` and driven by the `_faults` control endpoint.
   * Default: a new, empty plan of this agent's own.
   */
  scripted?: ScriptedFaultPlan;
  /**
   * Ends injected waits (latency, hang) early when it aborts, whether or not the caller is still
   * connected: the local stack aborts it on stop, so a hanging agent never holds the server's
   * shutdown (a client's abort does not always reach `request.signal`). Default: none.
   */
  closing?: AbortSignal;
}

export interface ReferenceAgent {
  /** The request handler; usable as `Deno.serve(agent.fetch)` (it does not use `this`). */
  fetch(request: Request): Promise<Response>;
  /** This agent's scripted fault plan and call counter (in-process access for tests). */
  readonly faults: ScriptedFaultPlan;
}

type ErrorCode =
  | "METHOD_NOT_ALLOWED"
  | "NOT_FOUND"
  | "UNAUTHORIZED"
  | "INVALID_REQUEST"
  | "PAYLOAD_TOO_LARGE"
  | "INJECTED_FAULT"
  | "CLIENT_CLOSED_REQUEST"
  | "INTERNAL";

/** Builds the handler for one agent. */
export function createReferenceAgent(
  name: AgentName,
  options: ReferenceAgentOptions,
): ReferenceAgent {
  const { config } = options;
  const log = createLogger({ functionName: `agent-${name}` });
  const verifier = options.verifier ?? createTokenVerifier(config, log);
  const scripted = options.scripted ?? createScriptedFaultPlan();
  const faults = firstFault(options.faults ?? headerFaultPlan, scripted);
  const missing = options.verifier ? null : missingServiceCredentials(config);
  if (missing) log.warn("agent.auth_disabled", { reason: missing });

  async function handle(request: Request): Promise<Response> {
    if (isControlPath(request)) {
      if (!config.agentFaultInjection) {
        return failure(404, "NOT_FOUND", "Not found.");
      }
      return await control(request);
    }
    if (request.method === "OPTIONS") return preflight();
    if (request.method !== "POST") {
      return failure(405, "METHOD_NOT_ALLOWED", "Agents answer POST only.", {
        Allow: "POST, OPTIONS",
      });
    }

    try {
      await requireServiceRole(request, verifier);
    } catch (error) {
      if (!(error instanceof ServiceAuthError)) throw error;
      return failure(401, "UNAUTHORIZED", error.message, { "WWW-Authenticate": "Bearer" });
    }
    // Every authenticated protocol call is an attempt, whatever happens to it next.
    scripted.recordCall();

    let fault: Fault | null = null;
    if (config.agentFaultInjection) {
      try {
        fault = faults.next(request);
      } catch (error) {
        if (!(error instanceof FaultSpecError)) throw error;
        return failure(400, "INVALID_REQUEST", error.message);
      }
    }
    const faultHeaders: Record<string, string> = fault?.retry_after === undefined
      ? {}
      : { "Retry-After": String(fault.retry_after) };

    if (fault?.latency_ms || fault?.hang) {
      const gone = options.closing
        ? AbortSignal.any([request.signal, options.closing])
        : request.signal;
      try {
        if (fault.latency_ms) await sleep(fault.latency_ms, gone);
        if (fault.hang) await untilAborted(gone);
      } catch {
        // The client went away (or the stack is stopping) during the injected delay.
      }
      if (gone.aborted) {
        return failure(499, "CLIENT_CLOSED_REQUEST", "The client closed the request.");
      }
    }
    if (fault?.status !== undefined && fault.status !== 200) {
      if (NULL_BODY_STATUSES.has(fault.status)) {
        return withCors(new Response(null, { status: fault.status, headers: faultHeaders }));
      }
      return failure(fault.status, "INJECTED_FAULT", "Injected fault.", faultHeaders);
    }

    const body = await readRequest(request);
    if (body instanceof Response) return body;
    const data = referenceAnswer(name, body, { singleDay: fault?.single_day ?? false });

    if (fault?.malformed) {
      return malformed(fault.malformed === "json" ? "json" : "schema", faultHeaders);
    }
    const etag = await contentEtag(data);
    if (ifNoneMatchMatches(request.headers.get("If-None-Match"), etag)) {
      return withCors(
        new Response(null, { status: 304, headers: { ETag: etag, ...faultHeaders } }),
      );
    }
    return json(200, { ok: true, data }, { ETag: etag, ...faultHeaders });
  }

  /** `GET`/`PUT`/`DELETE …/_faults` (only reached when fault injection is on). */
  async function control(request: Request): Promise<Response> {
    if (request.method === "OPTIONS") return preflight();
    if (!["GET", "PUT", "DELETE"].includes(request.method)) {
      return failure(405, "METHOD_NOT_ALLOWED", "The fault plan answers GET, PUT and DELETE.", {
        Allow: "GET, PUT, DELETE, OPTIONS",
      });
    }
    try {
      await requireServiceRole(request, verifier);
    } catch (error) {
      if (!(error instanceof ServiceAuthError)) throw error;
      return failure(401, "UNAUTHORIZED", error.message, { "WWW-Authenticate": "Bearer" });
    }
    if (request.method === "PUT") {
      const body = await readJson(request);
      if (body instanceof Response) return body;
      const parsed = FaultStepsBodySchema.safeParse(body);
      if (!parsed.success) {
        return failure(
          400,
          "INVALID_REQUEST",
          `The fault plan is not valid: ${describeIssues(parsed.error.issues)}`,
        );
      }
      scripted.set(parsed.data.steps);
    } else if (request.method === "DELETE") {
      scripted.clear();
    }
    return json(200, scripted.state());
  }

  return {
    faults: scripted,
    fetch: async (request) => {
      try {
        return await handle(request);
      } catch {
        return failure(500, "INTERNAL", "The agent failed unexpectedly.");
      }
    },
  };
}

/** True for `…/_faults` (the fault plan's control endpoint), with or without a trailing slash. */
function isControlPath(request: Request): boolean {
  return /\/_faults\/?$/.test(new URL(request.url).pathname);
}

/** `path: message; …` for the first few zod issues. */
function describeIssues(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => `${issue.path.map(String).join(".") || "(body)"}: ${issue.message}`)
    .join("; ");
}

/** Reads and validates the request body, or gives the 4xx answer to send instead. */
async function readRequest(request: Request) {
  const json = await readJson(request);
  if (json instanceof Response) return json;
  const parsed = AgentRequestSchema.safeParse(json);
  if (!parsed.success) {
    return failure(
      400,
      "INVALID_REQUEST",
      `The request does not follow the protocol: ${describeIssues(parsed.error.issues)}`,
    );
  }
  return parsed.data;
}

/** Reads a JSON body of at most 64 KiB, or gives the 4xx answer to send instead. */
async function readJson(request: Request): Promise<unknown> {
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  if (declared > MAX_AGENT_REQUEST_BYTES) return tooLarge();
  let text: string;
  try {
    text = await request.text();
  } catch {
    return failure(400, "INVALID_REQUEST", "The request body could not be read.");
  }
  if (new TextEncoder().encode(text).byteLength > MAX_AGENT_REQUEST_BYTES) return tooLarge();
  try {
    return JSON.parse(text);
  } catch {
    return failure(400, "INVALID_REQUEST", "The request body is not valid JSON.");
  }
}

function tooLarge(): Response {
  return failure(
    413,
    "PAYLOAD_TOO_LARGE",
    `The request body is larger than ${MAX_AGENT_REQUEST_BYTES} bytes.`,
  );
}

/** A 200 whose payload fails the protocol: JSON failing every agent's schema, or not JSON. */
function malformed(kind: "schema" | "json", headers: Record<string, string>): Response {
  if (kind === "json") {
    return withCors(
      new Response('{"ok": true, "data": {"truncated', {
        status: 200,
        headers: { "Content-Type": "application/json", ...headers },
      }),
    );
  }
  return json(200, { ok: true, data: { malformed: true } }, {
    ETag: '"malformed"',
    ...headers,
  });
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return withCors(
    new Response(JSON.stringify(body), {
      status,
      headers: { "Content-Type": "application/json", ...headers },
    }),
  );
}

/** `{ok: false, error, code}`, the protocol's error body. */
function failure(
  status: number,
  code: ErrorCode,
  error: string,
  headers: Record<string, string> = {},
): Response {
  return json(status, { ok: false, error, code }, headers);
}
