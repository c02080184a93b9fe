/**
 * A reference agent (spec 6.2, 6.4): one HTTP handler per agent name, answering the agent
 * protocol with deterministic content, a strong ETag of the content and `304` on a matching
 * `If-None-Match`. clo, ta and socratic answer a week pack when the request accepts one
 * (`accept: ["week_pack"]`), else the requested day; the ETag is that of the answer sent (the
 * whole pack, or the day). Only the service principal may call it (service_auth.ts). In the
 * local stack, with `config.agentFaultInjection`, it also obeys injected faults (see
 * `faults.ts`).
 *
 * The pieces: the pipeline (path, preflight, method, credentials; routing.ts), the protocol
 * (protocol_route.ts), fault application (inject.ts) and the fault plan's control endpoint
 * (control_route.ts). Each agent instance owns a scripted fault plan (`fault_plan.ts`),
 * consulted after the `X-Wisely-Fault` header, and counts the protocol calls it receives. With
 * fault injection off `…/_faults` is not routed: every request to it is a 404, whatever its
 * method or token.
 */
import { createTokenVerifier, type TokenVerifier } from "../../auth.ts";
import type { Config } from "../../config.ts";
import { createLogger } from "../../log.ts";
import type { AgentName } from "../protocol.ts";
import { controlRoutes } from "./control_route.ts";
import { createScriptedFaultPlan, type ScriptedFaultPlan } from "./fault_plan.ts";
import { type FaultPlan, firstFault, headerFaultPlan } from "./faults.ts";
import { protocolRoute } from "./protocol_route.ts";
import { createAgentRouter } from "./routing.ts";
import { missingServiceCredentials } from "./service_auth.ts";

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

/** Builds the handler for one agent. */
export function createReferenceAgent(
  name: AgentName,
  options: ReferenceAgentOptions,
): ReferenceAgent {
  const { config } = options;
  const log = createLogger({ functionName: `agent-${name}` });
  const verifier = options.verifier ?? createTokenVerifier(config, log);
  const missing = options.verifier ? null : missingServiceCredentials(config);
  if (missing) log.warn("agent.auth_disabled", { reason: missing });

  const scripted = options.scripted ?? createScriptedFaultPlan();
  const protocol = protocolRoute({
    name,
    faultInjection: config.agentFaultInjection,
    faults: firstFault(options.faults ?? headerFaultPlan, scripted),
    scripted,
    closing: options.closing,
  });
  const routes = config.agentFaultInjection ? [protocol, ...controlRoutes(scripted)] : [protocol];
  return { faults: scripted, fetch: createAgentRouter(routes, verifier) };
}
