// @ts-check
/// <reference lib="dom" />
/**
 * Signing in: email and password, a new account (confirmed at once on the local stack and on
 * projects without email confirmation), or an anonymous start. supabase-js does the work and
 * keeps the session; `app.js` follows it through onAuthStateChange.
 */
/** @import { SupabaseClient } from "@supabase/supabase-js" */
import { byId, clearMessages, showError, whileBusy } from "../lib/dom.js";
import { describeError, LearnerMessage } from "../lib/errors.js";

/** Switches the sign-in / create-account tabs (arrow keys move between them, as ARIA says). */
function setupTabs() {
  const tabs = /** @type {HTMLButtonElement[]} */ ([
    byId("tab-sign-in"),
    byId("tab-sign-up"),
  ]);
  const select = (/** @type {HTMLButtonElement} */ tab) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      const panel = byId(other.getAttribute("aria-controls") ?? "");
      panel.hidden = !selected;
    }
  };
  for (const [index, tab] of tabs.entries()) {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
      const next = tabs[
        (index + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) %
        tabs.length
      ];
      select(next);
      next.focus();
    });
  }
}

/**
 * @param {HTMLFormElement} form
 * @param {(email: string, password: string) => Promise<{ error: unknown }>} submit
 */
function handle(form, submit) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearMessages(form);
    const data = new FormData(form);
    const button = /** @type {HTMLButtonElement} */ (form.querySelector(
      "button[type=submit]",
    ));
    const { error } = await whileBusy(
      button,
      () =>
        submit(
          String(data.get("email") ?? "").trim(),
          String(data.get("password") ?? ""),
        ),
    );
    if (error) showError(form, describeError(error).message);
  });
}

/** @param {SupabaseClient} supabase */
export function setupAuthView(supabase) {
  setupTabs();
  handle(
    /** @type {HTMLFormElement} */ (byId("sign-in-form")),
    (email, password) => supabase.auth.signInWithPassword({ email, password }),
  );
  handle(
    /** @type {HTMLFormElement} */ (byId("sign-up-form")),
    async (email, password) => {
      const { data, error } = await supabase.auth.signUp({ email, password });
      if (!error && !data.session) {
        // A project that confirms emails first: no session until the link is clicked.
        return {
          error: new LearnerMessage(
            "Check your email to confirm the account, then sign in.",
          ),
        };
      }
      return { error };
    },
  );
  const anonymous = /** @type {HTMLButtonElement} */ (byId("anonymous-start"));
  anonymous.addEventListener("click", async () => {
    const view = byId("auth-view");
    clearMessages(view);
    const { error } = await whileBusy(
      anonymous,
      () => supabase.auth.signInAnonymously(),
    );
    if (error) {
      showError(
        /** @type {HTMLFormElement} */ (byId("sign-in-form")),
        describeError(error).message,
      );
    }
  });
}
