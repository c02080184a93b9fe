/**
 * The learner's web console (web/) in headless Chromium, driven by playwright-core against a
 * served stack: a learner signs up, sets an intent (time zone preselected from the browser),
 * gets a readable error for a bad input, runs today's plan and watches each agent settle, reads
 * the rendered plan, completes the day and sees the streak, history and live feed update. A
 * second learner in another browser context, on a phone-sized screen, sees none of it. No page
 * logs a console error beyond the failed requests the test provokes. Screenshots at desktop and
 * phone sizes go to test/browser/artifacts/.
 *
 * Every wait resolves on the page's own state (an element, a text, a count); none sleeps.
 * Skipped, with a message, when no Chromium binary is installed (CI installs Debian's).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { join } from "node:path";
import { LOCAL_PUBLISHABLE_KEY } from "../../dev/keys.ts";
import { CONSOLE_PATH, exportConsole } from "../../dev/static.ts";
import { CHROMIUM, WAIT_MS, waitForText } from "../support/browser.ts";
import { setFaults } from "../support/faults.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";

const ARTIFACTS = fileURLToPath(new URL("./artifacts/", import.meta.url));
/** socratic answers this much later than the others, so the plan cannot come before them. */
const SLOW_AGENT_MS = 1_500;

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

/** A failed request the test causes on purpose: Chromium logs it as a console error. */
interface ExpectedFailure {
  status: number;
  path: string;
}

interface Learner {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions, as `text @ url`. */
  problems: string[];
}

async function openConsole(
  browser: Browser,
  url: string,
  options: {
    viewport: { width: number; height: number };
    timezoneId: string;
    mobile?: boolean;
  },
): Promise<Learner> {
  const context = await browser.newContext({
    viewport: options.viewport,
    timezoneId: options.timezoneId,
    locale: "en-GB",
    isMobile: options.mobile ?? false,
    hasTouch: options.mobile ?? false,
  });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") {
      problems.push(`${message.text()} @ ${message.location().url}`);
    }
  });
  page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
  await page.goto(url);
  return { context, page, problems };
}

/** Problems other than the expected failed requests (each allowed once). */
function unexpected(problems: string[], expected: ExpectedFailure[]): string[] {
  const left = [...expected];
  return problems.filter((problem) => {
    const i = left.findIndex((e) =>
      problem.includes(`status of ${e.status}`) && problem.includes(e.path)
    );
    if (i === -1) return true;
    left.splice(i, 1);
    return false;
  });
}

/** The whole page, and what fits on the screen (`-screen`, the README's pictures). */
async function screenshot(page: Page, name: string): Promise<void> {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
  await page.evaluate(() =>
    (globalThis as unknown as { scrollTo(x: number, y: number): void })
      .scrollTo(0, 0)
  );
  await page.screenshot({ path: `${ARTIFACTS}${name}-screen.png` });
}

/** Text of an element, whitespace collapsed. */
async function text(page: Page, selector: string): Promise<string> {
  return ((await page.locator(selector).textContent()) ?? "").replace(
    /\s+/g,
    " ",
  ).trim();
}

/**
 * The little of the DOM the in-page callbacks below use. Deno's type check knows no DOM, and
 * Playwright runs these callbacks in the page (serialized; so they capture nothing), where
 * `globalThis` is the window. Functions, not strings: the page's CSP forbids string eval.
 */
interface PageElement {
  textContent: string | null;
  hidden: boolean;
  id: string;
  querySelectorAll(selector: string): { length: number };
}
interface PageWindow {
  document: {
    querySelector(selector: string): PageElement | null;
    getElementById(id: string): PageElement;
    activeElement: PageElement | null;
    body: { scrollWidth: number };
  };
  MutationObserver: new (callback: () => void) => {
    observe(target: PageElement, options: Record<string, boolean>): void;
  };
  progressSeen?: { settled: number; plan: boolean }[];
}

/** Records, at every change of the today card, how many agents had settled and the plan. */
async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const window = globalThis as unknown as PageWindow;
    const seen: { settled: number; plan: boolean }[] = (window.progressSeen = []);
    const card = window.document.getElementById("today-card");
    new window.MutationObserver(() =>
      seen.push({
        settled: card.querySelectorAll('.agent:not([data-state="waiting"])').length,
        plan: !window.document.getElementById("plan").hidden,
      })
    ).observe(card, {
      subtree: true,
      childList: true,
      attributes: true,
      characterData: true,
    });
  });
}

/** What `recordProgress` saw. */
function progressSeen(
  page: Page,
): Promise<{ settled: number; plan: boolean }[]> {
  return page.evaluate(() => (globalThis as unknown as PageWindow).progressSeen ?? []);
}

async function signUp(page: Page, email: string): Promise<void> {
  await page.getByRole("tab", { name: "Create account" }).click();
  const form = page.locator("#sign-up-form");
  await form.getByLabel("Email").fill(email);
  await form.getByLabel("Password").fill("correct horse 42");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "Today's plan" }).waitFor();
}

async function learnerSteps(
  t: Deno.TestContext,
  stack: TestStack,
  ada: Learner,
) {
  const { page } = ada;
  const email = `ada-${crypto.randomUUID().slice(0, 8)}@example.test`;

  await t.step("a learner signs up", async () => {
    await page.getByRole("heading", { name: "Learn something every day" })
      .waitFor();
    await signUp(page, email);
    assert.equal(await text(page, "#account-name"), email);
    await waitForText(page, "#feed-state", /^Live$/);
    // The first status has arrived (and with it the intent form's zone).
    await waitForText(page, "#next-run", /Set a learning intent/);
    assert.equal(await text(page, "#stat-streak"), "0");
  });

  await t.step(
    "the intent form: zone preselected, a bad input as a sentence",
    async () => {
      assert.equal(
        await page.getByLabel("Time zone").inputValue(),
        "Europe/Berlin",
      );
      await page.getByLabel("Topic").fill("Rust ownership");
      await page.getByLabel("Goal").fill("Write a safe CLI tool");
      await page.getByLabel("Depth").selectOption("deep");
      await page.getByLabel("Minutes a day").fill("2");
      await page.getByRole("button", { name: "Save intent" }).click();
      const alert = page.locator("#intent-card .form-error");
      await alert.waitFor();
      assert.equal(
        await alert.textContent(),
        "Minutes a day must be at least 5.",
      );
      assert.equal(
        await page.getByLabel("Minutes a day").getAttribute("aria-invalid"),
        "true",
      );
      assert.equal(
        await page.evaluate(() => (globalThis as unknown as PageWindow).document.activeElement?.id),
        "intent-minutes",
      );
    },
  );

  await t.step("a valid intent is saved and announced live", async () => {
    await page.getByLabel("Minutes a day").fill("45");
    await page.getByRole("button", { name: "Save intent" }).click();
    await waitForText(page, "#intent-card .form-ok", /New intent saved/);
    assert.equal(
      await page.locator("#intent-card .form-error").isHidden(),
      true,
    );
    await waitForText(page, "#events", /New learning intent/);
    await waitForText(
      page,
      "#next-run",
      /week 1, day 1 — .*\(Europe\/Berlin\)/,
    );
  });

  await t.step(
    "today's plan: each agent settles live, then the plan renders",
    async () => {
      await setFaults(stack, "socratic", [{
        fault: { latency_ms: SLOW_AGENT_MS },
      }]);
      await recordProgress(page);
      await page.getByRole("button", { name: "Get today's plan" }).click();
      await page.getByRole("heading", {
        name: "Daily Learning Plan — Week 1, Day 1",
      }).waitFor();
      const agents = page.locator("#agents .agent");
      assert.equal(await agents.count(), 4);
      for (const agent of ["clo", "alex", "ta", "socratic"]) {
        const item = page.locator(`#agents [data-agent="${agent}"]`);
        assert.equal(await item.getAttribute("data-state"), "ready", agent);
        assert.match(
          await text(page, `#agents [data-agent="${agent}"] .agent-detail`),
          /ms$/,
        );
      }
      const slow = await text(
        page,
        '#agents [data-agent="socratic"] .agent-detail',
      );
      assert.ok(Number(/(\d+) ms/.exec(slow)?.[1]) >= SLOW_AGENT_MS, slow);
      // Progress came before the plan: a moment with agents settled and no plan on screen.
      const seen = await progressSeen(page);
      assert.ok(
        seen.some((s) => s.settled >= 1 && s.settled < 4 && !s.plan),
        JSON.stringify(seen),
      );
      // Markdown rendered and sanitized: headings, lists and links, no raw Markdown marks.
      const plan = page.locator("#plan-body");
      assert.ok((await plan.locator("h4").count()) >= 3);
      assert.ok((await plan.locator("li").count()) >= 4);
      for (const link of await plan.locator("a").all()) {
        assert.equal(await link.getAttribute("rel"), "noopener noreferrer");
      }
      assert.doesNotMatch(await text(page, "#plan-body"), /^#|\*\*|\]\(/m);
      await waitForText(page, "#events", /Plan ready for week 1, day 1/);
      await screenshot(page, "console-desktop-plan");
    },
  );

  await t.step(
    "completion with minutes and confidence; streak and feed update",
    async () => {
      await page.getByLabel("Minutes spent").fill("40");
      const confidence = page.getByRole("slider", { name: /Confidence/ });
      await confidence.focus();
      await page.keyboard.press("ArrowRight"); // 7 → 8, from the keyboard
      assert.equal(await text(page, "#completion-confidence-value"), "8");
      await page.getByRole("button", { name: "Mark today complete" }).click();
      await waitForText(page, "#done-summary", /40 min, confidence 8 of 10/);
      assert.ok(
        (await text(page, "#done-hint")).length > 10,
        "the next day's hint",
      );
      await waitForText(page, "#stat-streak", /^1$/);
      await waitForText(page, "#stat-streak-unit", /^day$/);
      assert.equal(await text(page, "#stat-minutes"), "40 min");
      assert.equal(await text(page, "#stat-confidence"), "8.0 / 10");
      await waitForText(page, "#events", /Completed week 1, day 1/);
      await waitForText(
        page,
        "#history-rows",
        /Week 1, day 1.*40 min.*8 \/ 10/,
      );
      assert.ok(await page.locator("#history-chart").isVisible());
      assert.match(
        (await page.locator("#history-chart").getAttribute("aria-label")) ?? "",
        /W1 D1: 40 minutes, confidence 8/,
      );
      await page.getByRole("button", { name: "Start week 1, day 2" }).waitFor();
      assert.deepEqual(
        await page.locator("#events .event").evaluateAll((items) =>
          items.map((item) => item.getAttribute("data-type"))
        ),
        ["day_completed", "instructor_plan_created", "intent_synced"],
      );
    },
  );
}

async function otherLearnerSteps(
  t: Deno.TestContext,
  bob: Learner,
  ada: Learner,
) {
  const { page } = bob;
  await t.step("a second learner on a phone sees none of it", async () => {
    await page.getByRole("button", { name: "Start without an account" })
      .click();
    await page.getByRole("heading", { name: "Today's plan" }).waitFor();
    await waitForText(page, "#feed-state", /^Live$/);
    // The first status has arrived (and with it the intent form's zone).
    await waitForText(page, "#next-run", /Set a learning intent/);
    assert.equal(await text(page, "#account-name"), "Guest learner");
    assert.equal(await text(page, "#stat-streak"), "0");
    assert.equal(await text(page, "#stat-completed"), "0");
    assert.ok(await page.locator("#today-empty").isVisible());
    assert.ok(await page.locator("#history-empty").isVisible());
    assert.equal(await page.locator("#events .event").count(), 0);
    assert.equal(
      await page.getByLabel("Time zone").inputValue(),
      "America/New_York",
    );
    // Bob's own event reaches Bob, and Ada's feed stays as it was.
    await page.getByLabel("Topic").fill("Italian cooking");
    await page.getByLabel("Goal").fill("Cook a dinner for friends");
    await page.getByRole("button", { name: "Save intent" }).click();
    await waitForText(page, "#events", /New learning intent/);
    assert.equal(await page.locator("#events .event").count(), 1);
    assert.equal(await ada.page.locator("#events .event").count(), 3);
    assert.doesNotMatch(await text(ada.page, "body"), /Italian cooking/);
    await screenshot(page, "console-phone-second-learner");
  });

  await t.step("a wrong password reads as a sentence", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Learn something every day" })
      .waitFor();
    const form = page.locator("#sign-in-form");
    await form.getByLabel("Email").fill("nobody@example.test");
    await form.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await waitForText(page, "#sign-in-form .form-error", /match an account/);
    assert.equal(
      await text(page, "#sign-in-form .form-error"),
      "That email and password don't match an account.",
    );
  });
}

Deno.test({
  name: "console (chromium): a learner's day, a second learner, errors, screenshots",
  ignore: CHROMIUM === null,
  async fn(t) {
    const stack = await startTestStack("pglite", { agentFaults: true });
    let browser: Browser | null = null;
    const learners: Learner[] = [];
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM!,
        args: ["--no-sandbox"],
      });
      const ada = await openConsole(browser, `${stack.url}${CONSOLE_PATH}/`, {
        viewport: DESKTOP,
        timezoneId: "Europe/Berlin",
      });
      learners.push(ada);
      await learnerSteps(t, stack, ada);

      await t.step("screenshots at desktop and phone sizes", async () => {
        await screenshot(ada.page, "console-desktop");
        await ada.page.setViewportSize(PHONE);
        // One column on a phone: the cards stack, nothing is wider than the screen.
        await ada.page.waitForFunction(
          (width) =>
            (globalThis as unknown as PageWindow).document.body.scrollWidth <=
              width,
          PHONE.width,
        );
        await screenshot(ada.page, "console-phone");
      });

      const bob = await openConsole(browser, `${stack.url}${CONSOLE_PATH}/`, {
        viewport: PHONE,
        timezoneId: "America/New_York",
        mobile: true,
      });
      learners.push(bob);
      await otherLearnerSteps(t, bob, ada);
      await screenshot(bob.page, "console-phone-sign-in-error");

      await t.step(
        "no console errors beyond the failed requests the test made",
        () => {
          assert.deepEqual(
            unexpected(ada.problems, [{
              status: 400,
              path: "/functions/v1/orchestrator/intent.sync",
            }]),
            [],
          );
          assert.deepEqual(
            unexpected(bob.problems, [{ status: 400, path: "/auth/v1/token" }]),
            [],
          );
        },
      );
    } finally {
      for (const learner of learners) await learner.context.close();
      await browser?.close();
      await stack.stop();
    }
  },
});

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
};

/** The plainest static host: files from `dir`, `/` as index.html, a type by extension. */
function staticHost(dir: string): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const path = new URL(req.url).pathname.slice(1) || "index.html";
      if (path.split("/").includes("..")) {
        return new Response("no", {
          status: 400,
        });
      }
      try {
        const body = await Deno.readFile(join(dir, ...path.split("/")));
        const type = TYPES[path.slice(path.lastIndexOf(".") + 1)] ??
          "text/plain";
        return new Response(body, { headers: { "content-type": type } });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
}

Deno.test({
  name: "console (chromium): exported as static files on another origin, it works the same",
  ignore: CHROMIUM === null,
  async fn() {
    const stack = await startTestStack("pglite");
    const out = await Deno.makeTempDir({ prefix: "wisely-console-" });
    let host: Deno.HttpServer<Deno.NetAddr> | null = null;
    let browser: Browser | null = null;
    let learner: Learner | null = null;
    try {
      await exportConsole(out, {
        supabaseUrl: stack.url,
        publishableKey: LOCAL_PUBLISHABLE_KEY,
      });
      host = staticHost(out);
      const origin = `http://127.0.0.1:${host.addr.port}`;
      assert.notEqual(
        origin,
        stack.url,
        "another origin: Auth, Functions and Realtime over CORS",
      );
      browser = await chromium.launch({
        executablePath: CHROMIUM!,
        args: ["--no-sandbox"],
      });
      learner = await openConsole(browser, `${origin}/`, {
        viewport: DESKTOP,
        timezoneId: "Asia/Tokyo",
      });
      const { page } = learner;
      await page.getByRole("button", { name: "Start without an account" })
        .click();
      await waitForText(page, "#feed-state", /^Live$/);
      await waitForText(page, "#next-run", /Set a learning intent/);
      // The first status has arrived (and with it the intent form's zone).
      await waitForText(page, "#next-run", /Set a learning intent/);
      assert.equal(
        await page.getByLabel("Time zone").inputValue(),
        "Asia/Tokyo",
      );
      await page.getByLabel("Topic").fill("Linear algebra");
      await page.getByLabel("Goal").fill("Read a machine learning paper");
      await page.getByRole("button", { name: "Save intent" }).click();
      await waitForText(page, "#events", /New learning intent/);
      await page.getByRole("button", { name: "Get today's plan" }).click();
      await page.getByRole("heading", {
        name: "Daily Learning Plan — Week 1, Day 1",
      }).waitFor();
      assert.equal(
        await page.locator('#agents .agent[data-state="ready"]').count(),
        4,
      );
      await waitForText(page, "#events", /Plan ready for week 1, day 1/);
      assert.deepEqual(learner.problems, []);
    } finally {
      await learner?.context.close();
      await browser?.close();
      await host?.shutdown();
      await Deno.remove(out, { recursive: true });
      await stack.stop();
    }
  },
});
