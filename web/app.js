// @ts-check
/// <reference lib="dom" />
/**
 * The learner's console. It talks to the project only through supabase-js (Auth, and the
 * Realtime socket) and the Wisely SDK (every orchestrator call): `config.json` next to this page
 * names the project URL and publishable key, so the same files work against any project.
 */
/** @import { SupabaseClient } from "@supabase/supabase-js" */
/** @import { Session } from "@supabase/supabase-js" */
import { LearningOrchestrator } from "@wisely/sdk";
import { byId, showError } from "./lib/dom.js";
import { describeError } from "./lib/errors.js";
import { setupAuthView } from "./views/auth.js";
import { createDashboard } from "./views/dashboard.js";

/**
 * `{supabaseUrl, publishableKey}` from config.json, checked.
 * @returns {Promise<{ supabaseUrl: string, publishableKey: string }>}
 */
async function loadConfig() {
  const response = await fetch("./config.json", { cache: "no-cache" });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  /** @type {unknown} */
  const config = await response.json();
  if (typeof config !== "object" || config === null) {
    throw new Error("config.json is not an object");
  }
  const { supabaseUrl, publishableKey } = /** @type {Record<string, unknown>} */ (config);
  if (typeof supabaseUrl !== "string" || typeof publishableKey !== "string") {
    throw new Error("config.json needs supabaseUrl and publishableKey");
  }
  return {
    supabaseUrl: new URL(supabaseUrl, location.href).href.replace(/\/$/, ""),
    publishableKey,
  };
}

/** supabase-js's browser build, loaded by a classic script before this module. */
function supabaseJs() {
  const global = /** @type {{ supabase?: typeof import("@supabase/supabase-js") }} */ (
    /** @type {unknown} */ (globalThis)
  );
  if (!global.supabase) throw new Error("supabase-js did not load");
  return global.supabase;
}

/** @param {Session | null} session */
function accountName(session) {
  const user = session?.user;
  if (!user) return "";
  return user.is_anonymous ? "Guest learner" : user.email ?? "Signed in";
}

/**
 * Shows the sign-in card or the dashboard, following the session.
 * @param {SupabaseClient} supabase
 */
function follow(supabase) {
  const orchestrator = new LearningOrchestrator(supabase);
  const dashboard = createDashboard({ orchestrator });
  /** @type {string | null} */
  let userId = null;

  /** @param {Session | null} session */
  async function show(session) {
    byId("app-loading").hidden = true;
    const next = session?.user.id ?? null;
    byId("auth-view").hidden = next !== null;
    byId("app-view").hidden = next === null;
    byId("account").hidden = next === null;
    byId("account-name").textContent = accountName(session);
    if (next === userId) return;
    if (userId !== null) await dashboard.stop();
    userId = next;
    if (next !== null) {
      byId("main").focus();
      await dashboard.start();
    }
  }

  // Queued, in order: one change at a time, and never inside supabase-js's own callback
  // (which holds the auth lock that our calls would wait for).
  let queue = Promise.resolve();
  supabase.auth.onAuthStateChange((_event, session) => {
    setTimeout(() => {
      queue = queue.then(() => show(session)).catch((error) => {
        showError(byId("main"), describeError(error).message);
      });
    }, 0);
  });

  const signOut = /** @type {HTMLButtonElement} */ (byId("sign-out"));
  signOut.addEventListener("click", async () => {
    signOut.disabled = true;
    try {
      await supabase.auth.signOut();
    } finally {
      signOut.disabled = false;
    }
  });
}

async function main() {
  let config;
  try {
    config = await loadConfig();
  } catch {
    byId("app-loading").hidden = true;
    const banner = byId("app-error");
    banner.textContent = "This console is not set up yet: it needs a config.json with the " +
      "project URL and publishable key next to index.html.";
    banner.hidden = false;
    return;
  }
  const supabase = supabaseJs().createClient(
    config.supabaseUrl,
    config.publishableKey,
  );
  setupAuthView(supabase);
  follow(supabase);
}

main();
