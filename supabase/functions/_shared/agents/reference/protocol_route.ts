/**
 * `POST …/agent-<name>`: the agent protocol (spec 6.2). After the credentials (checked by the
 * router): count the call, take the injected fault (when fault injection is on), wait and fail
 * as it says, read the body, then answer the content with its ETag, `304` on a matching
 * `If-None-Match`, or a malformed payload when the fault asks for one.
 */
import { ApiError } from "../../errors.ts";
import { validate } from "../../http/body.ts";
import { withCors } from "../../http/cors.ts";
import { ifNoneMatchMatches } from "../../http/etag.ts";
import { type AgentName, AgentRequestSchema } from "../protocol.ts";
import { referenceAnswer } from "./content.ts";
import { contentEtag } from "./etag.ts";
import type { ScriptedFaultPlan } from "./fault_plan.ts";
import { type Fault, type FaultPlan, FaultSpecError } from "./faults.ts";
import { faultHeaders, injectedDelay, injectedStatus, malformedAnswer } from "./inject.ts";
import { agentJson } from "./replies.ts";
import { readAgentJson } from "./request_body.ts";
import type { AgentRoute } from "./routing.ts";

export interface ProtocolRouteOptions {
  name: AgentName;
  /** Consult `faults` at all (`config.agentFaultInjection`). */
  faultInjection: boolean;
  /** Where faults come from: the header, then the scripted plan. */
  faults: FaultPlan;
  /** Counts the calls (and is one of `faults`' sources). */
  scripted: ScriptedFaultPlan;
  /** Ends injected waits early (see `ReferenceAgentOptions.closing`). */
  closing?: AbortSignal;
}

export function protocolRoute(options: ProtocolRouteOptions): AgentRoute {
  return {
    path: "",
    method: "POST",
    async handle(request) {
      // Every authenticated protocol call is an attempt, whatever happens to it next.
      options.scripted.recordCall();
      const fault = options.faultInjection ? nextFault(options.faults, request) : null;
      const headers = faultHeaders(fault);
      const early = (await injectedDelay(fault, request, options.closing)) ??
        injectedStatus(fault, headers);
      if (early) return early;

      const body = validate(
        AgentRequestSchema,
        await readAgentJson(request),
        "The request does not follow the protocol",
      );
      const data = referenceAnswer(options.name, body, { singleDay: fault?.single_day ?? false });
      if (fault?.malformed) return malformedAnswer(fault.malformed, headers);
      return contentAnswer(request, data, headers);
    },
  };
}

/** The plan's fault for this call; an invalid fault header is the caller's 400. */
function nextFault(faults: FaultPlan, request: Request): Fault | null {
  try {
    return faults.next(request);
  } catch (error) {
    if (!(error instanceof FaultSpecError)) throw error;
    throw new ApiError(400, "INVALID_REQUEST", error.message, { cause: error });
  }
}

/** `200 {ok: true, data}` with the content's strong ETag, or `304` when the caller has it. */
function contentAnswer(
  request: Request,
  data: unknown,
  headers: Record<string, string>,
): Response {
  const etag = contentEtag(data);
  if (ifNoneMatchMatches(request.headers.get("If-None-Match"), etag)) {
    return withCors(new Response(null, { status: 304, headers: { ETag: etag, ...headers } }));
  }
  return agentJson(200, { ok: true, data }, { ETag: etag, ...headers });
}
