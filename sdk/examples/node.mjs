// @ts-check
/**
 * The SDK from Node (20+; on Node 20 and 21 run it with `--experimental-websocket`, which
 * Node 22 no longer needs): an anonymous learner's first day, with live progress and events.
 * Prints one JSON object per line, `{"step": …, "value": …}`; the SDK's Node test reads them.
 *
 *   deno task start                                   # in another terminal
 *   node --experimental-websocket sdk/examples/node.mjs
 *
 * Environment: WISELY_URL (default http://127.0.0.1:54321), WISELY_PUBLISHABLE_KEY (default
 * the local stack's).
 */
import process from "node:process";
import { createClient } from "@supabase/supabase-js";
import { LearningOrchestrator, OrchestratorError } from "../mod.mjs";

const url = process.env.WISELY_URL ?? "http://127.0.0.1:54321";
const key = process.env.WISELY_PUBLISHABLE_KEY ??
  "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH";

/** @param {string} step @param {unknown} value */
function report(step, value) {
  process.stdout.write(`${JSON.stringify({ step, value })}\n`);
}

const supabase = createClient(url, key, { auth: { persistSession: false } });
const orchestrator = new LearningOrchestrator(supabase);

const { error: signInError } = await supabase.auth.signInAnonymously();
if (signInError) throw signInError;

// Every event this learner causes below; the script ends once all three have arrived.
/** @type {string[]} */
const heard = [];
/** @type {() => void} */
let allHeard = () => {};
const threeEvents = new Promise((
  resolve,
) => (allHeard = () => resolve(undefined)));
const subscription = await orchestrator.subscribe({
  onEvent(event) {
    report("event", event);
    heard.push(event.type);
    if (heard.length === 3) allHeard();
  },
});

try {
  report("health", await orchestrator.health());
  report(
    "intent",
    await orchestrator.createIntent({
      topic: "Rust ownership",
      depth: "informed",
      end_goal: "Write a safe CLI tool",
      time_per_day_min: 30,
      user_tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
    }),
  );

  /** @type {string | null} */
  let sessionId = null;
  for await (const progress of orchestrator.runDay(1, 1)) {
    report(progress.type, progress.data);
    if (progress.type === "plan") sessionId = progress.data.session_id;
  }
  if (sessionId === null) throw new Error("no stored plan");
  // The same day again, without progress: the stored plan, as is.
  report("stored", await orchestrator.generateDayPlan(1, 1));

  report(
    "done",
    await orchestrator.completeDay(sessionId, {
      completion_time_min: 25,
      confidence: 7,
    }),
  );
  report("status", await orchestrator.getStatus());
  report("sessions", await orchestrator.listSessions({ limit: 5 }));
  /** @type {string[]} */
  const every = [];
  for await (const session of orchestrator.sessions({ limit: 1 })) every.push(session.session_id);
  report("all_sessions", every);
  report("csv", await orchestrator.sessionsCsv());

  try {
    await orchestrator.completeDay(sessionId, {
      completion_time_min: -1,
      confidence: 11,
    });
  } catch (error) {
    if (!(error instanceof OrchestratorError)) throw error;
    const { name, status, code, details, retryAfter, message } = error;
    report("error", { name, status, code, details, retryAfter, message });
  }
  await threeEvents;
} finally {
  await subscription.unsubscribe();
  supabase.realtime.disconnect();
}
