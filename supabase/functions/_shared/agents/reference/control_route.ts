/**
 * `…/agent-<name>/_faults`: the scripted fault plan's control endpoint (service role only, like
 * the protocol; registered only with fault injection on). `GET` → `{steps, calls}`;
 * `PUT {"steps": [{"fault": {...}, "count": N | "always"}]}` replaces the steps; `DELETE`
 * empties them. `PUT` and `DELETE` reset `calls`; all three answer the plan's state.
 */
import { validate } from "../../http/body.ts";
import { FaultStepsBodySchema, type ScriptedFaultPlan } from "./fault_plan.ts";
import { agentJson } from "./replies.ts";
import { readAgentJson } from "./request_body.ts";
import { type AgentRoute, CONTROL_PATH } from "./routing.ts";

export function controlRoutes(scripted: ScriptedFaultPlan): AgentRoute[] {
  const state = () => agentJson(200, scripted.state());
  return [
    { path: CONTROL_PATH, method: "GET", handle: () => Promise.resolve(state()) },
    {
      path: CONTROL_PATH,
      method: "PUT",
      async handle(request) {
        const body = validate(
          FaultStepsBodySchema,
          await readAgentJson(request),
          "The fault plan is not valid",
        );
        scripted.set(body.steps);
        return state();
      },
    },
    {
      path: CONTROL_PATH,
      method: "DELETE",
      handle() {
        scripted.clear();
        return Promise.resolve(state());
      },
    },
  ];
}
