/**
 * The SDK in Node: `sdk/examples/node.mjs` (plain JavaScript, no build step) run by the system's
 * `node` against a served stack. Its JSON lines are checked against the functions' zod schemas:
 * every method, the SSE iterator, the events helper and an `OrchestratorError`. Skipped, with a
 * message, when no `node` is on PATH.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { AGENT_NAMES } from "../../supabase/functions/_shared/agents/protocol.ts";
import { DayRunAgentEvent, LearnerEvent } from "../../supabase/functions/_shared/event_schemas.ts";
import * as responses from "../../supabase/functions/_shared/responses.ts";
import { LOCAL_PUBLISHABLE_KEY } from "../../dev/keys.ts";
import { startTestStack } from "../support/stack.ts";

const EXAMPLE = fileURLToPath(
  new URL("../../sdk/examples/node.mjs", import.meta.url),
);

/** `node --version` as a major number, or null when there is no `node`. */
async function nodeMajor(): Promise<number | null> {
  try {
    const { stdout, success } = await new Deno.Command("node", {
      args: ["--version"],
    }).output();
    if (!success) return null;
    return Number(
      /^v(\d+)\./.exec(new TextDecoder().decode(stdout))?.[1] ?? NaN,
    );
  } catch {
    return null;
  }
}

const major = await nodeMajor();
if (major === null) {
  console.warn("sdk_node: no `node` on PATH; the Node test is skipped.");
}

const Line = z.object({ step: z.string(), value: z.unknown() });

Deno.test({
  name: "sdk (node): a learner's first day from Node, every answer fits its schema",
  ignore: major === null,
  async fn() {
    const stack = await startTestStack("pglite");
    try {
      // Node 22 has WebSocket built in; 20 and 21 need the flag (supabase-js Realtime uses it).
      const args = [
        ...(major! < 22 ? ["--experimental-websocket"] : []),
        EXAMPLE,
      ];
      const child = await new Deno.Command("node", {
        args,
        env: {
          WISELY_URL: stack.url,
          WISELY_PUBLISHABLE_KEY: LOCAL_PUBLISHABLE_KEY,
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(child.stderr);
      assert.equal(child.code, 0, `node failed:\n${stderr}`);
      const lines = new TextDecoder().decode(child.stdout).trim().split("\n")
        .map((line) => Line.parse(JSON.parse(line)));
      const values = (step: string) => lines.filter((l) => l.step === step).map((l) => l.value);

      responses.HealthResponse.parse(values("health")[0]);
      const intent = responses.IntentResponse.parse(values("intent")[0]);
      const agents = values("agent").map((value) => DayRunAgentEvent.parse(value));
      assert.deepEqual(
        agents.map((a) => a.agent).sort(),
        [...AGENT_NAMES].sort(),
      );
      const plan = responses.DayRunResponse.parse(values("plan")[0]);
      const done = responses.DayDoneResponse.parse(values("done")[0]);
      assert.equal(done.completion_summary.session_id, plan.session_id);
      const status = responses.StatusResponse.parse(values("status")[0]);
      assert.equal(status.learning_stats.current_streak_days, 1);
      const stored = responses.DayRunResponse.parse(values("stored")[0]);
      assert.equal(stored.session_id, plan.session_id, "the stored plan, as is");
      const sessions = responses.SessionsResponse.parse(values("sessions")[0]);
      assert.deepEqual(sessions.sessions.map((s) => s.session_id), [
        plan.session_id,
      ]);

      assert.deepEqual(values("all_sessions")[0], [plan.session_id]);
      const csv = z.object({ csv: z.string(), nextCursor: z.null() }).parse(values("csv")[0]);
      assert.equal(csv.csv.trim().split("\r\n").length, 2, "a header and the one session");
      assert.ok(csv.csv.includes(plan.session_id));
      const events = values("event").map((value) => LearnerEvent.parse(value));
      assert.deepEqual(events.map((e) => e.type), [
        "intent_synced",
        "instructor_plan_created",
        "day_completed",
      ]);
      assert.ok(
        events.every((e) => e.user_id === status.user_id && e.intent_id === intent.intent_id),
      );

      const error = z.object({
        name: z.literal("OrchestratorError"),
        status: z.literal(400),
        code: z.literal("INVALID_REQUEST"),
        details: z.array(
          z.object({ path: z.array(z.string()), message: z.string() }),
        ),
        retryAfter: z.null(),
        message: z.string().min(1),
      }).parse(values("error")[0]);
      assert.deepEqual(error.details.map((d) => d.path[0]).sort(), [
        "completion_time_min",
        "confidence",
      ]);
    } finally {
      await stack.stop();
    }
  },
});
