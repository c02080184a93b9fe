/**
 * "Add to calendar" in the web console, in headless Chromium against a served stack: a learner
 * sets an intent, gets a private feed URL (shown with a copy button and a `webcal://` link),
 * the URL works with no credentials (fetched and parsed with ical.js: 14 days at the plan time
 * in the learner's zone), "Take a break" pauses the intent (the progress card and the feed show
 * it) and "Resume now" ends it, copying puts the URL on the clipboard, and "Stop sharing" makes
 * it a 404.
 * Every wait resolves on the page's own state; none sleeps. Skipped, with a message, when no
 * Chromium binary is installed (as console.test.ts).
 */
import assert from "node:assert/strict";
import { type Browser, chromium } from "playwright-core";
import { CONSOLE_PATH } from "../../dev/static.ts";
import { CHROMIUM, WAIT_MS, waitForText } from "../support/browser.ts";
import { addDaysTo, intlOffsetS, parseFeed, todayIn } from "../support/ical_feed.ts";
import { startTestStack } from "../support/stack.ts";

/** What the in-page callbacks use (Deno's type check knows no DOM). */
interface PageWindow {
  navigator: { clipboard: { readText(): Promise<string> } };
}

/** Each event of the feed with the Intl offset of Berlin at its start, and its minutes. */
function readFeed(text: string) {
  return parseFeed(text).map((event) => ({
    ...event,
    intlOffsetS: intlOffsetS("Europe/Berlin", event.startUtc),
    minutes: event.durationS / 60,
  }));
}

Deno.test({
  name: "console (chromium): add to calendar, take a break, copy, the feed works, stop sharing",
  ignore: CHROMIUM === null,
  async fn(t) {
    const stack = await startTestStack("pglite");
    let browser: Browser | null = null;
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM!, args: ["--no-sandbox"] });
      const context = await browser.newContext({ timezoneId: "Europe/Berlin", locale: "en-GB" });
      context.setDefaultTimeout(WAIT_MS);
      await context.grantPermissions(["clipboard-read", "clipboard-write"], {
        origin: stack.url,
      });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
      page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
      await page.goto(`${stack.url}${CONSOLE_PATH}/`);

      await t.step("a learner starts and sets an intent at 07:30", async () => {
        await page.getByRole("button", { name: "Start without an account" }).click();
        await waitForText(page, "#next-run", /Set a learning intent/);
        await page.getByLabel("Topic").fill("Rust ownership");
        await page.getByLabel("Goal").fill("Write a safe CLI tool");
        await page.getByLabel("Minutes a day").fill("30");
        await page.getByLabel("Plan ready at").fill("07:30");
        await page.getByRole("button", { name: "Save intent" }).click();
        await waitForText(page, "#intent-card .form-ok", /New intent saved/);
      });

      let url = "";
      await t.step("Add to calendar shows the private URL and a webcal:// link", async () => {
        await page.getByRole("button", { name: "Add to calendar" }).click();
        await waitForText(page, "#calendar-card .form-ok", /calendar address is ready/);
        url = await page.getByLabel("Your calendar address").inputValue();
        assert.match(url, /\/functions\/v1\/orchestrator\/calendar\.ics\?key=[A-Za-z0-9_-]{43}$/);
        assert.ok(url.startsWith(stack.functionsUrl), url);
        const webcal = page.getByRole("link", { name: "open it in your calendar app" });
        assert.equal(await webcal.getAttribute("href"), url.replace(/^http:/, "webcal:"));
        assert.equal(
          await page.getByRole("button", { name: "Get a new address" }).count(),
          1,
        );
      });

      await t.step("the URL works without credentials: 14 days at 07:30 Berlin", async () => {
        const response = await fetch(url);
        assert.equal(response.status, 200);
        assert.equal(response.headers.get("content-type"), "text/calendar; charset=utf-8");
        const events = readFeed(await response.text());
        assert.equal(events.length, 14);
        for (const event of events) {
          assert.equal(event.tzid, "Europe/Berlin");
          assert.match(event.local, /T07:30:00$/);
          assert.equal(event.offsetS, event.intlOffsetS, event.local);
          assert.equal(event.minutes, 30);
        }
        assert.equal(events[0].summary, "Wisely: Rust ownership — week 1 day 1");
      });

      await t.step("Take a break through a date: the card and the feed show it", async () => {
        const until = addDaysTo(todayIn("Europe/Berlin"), 3);
        await page.fill("#pause-until", until);
        await page.getByRole("button", { name: "Take a break" }).click();
        await waitForText(page, "#next-run", new RegExp(`^Paused until ${until}`));
        const events = readFeed(await (await fetch(url)).text());
        assert.equal(events[0].local.slice(0, 10), addDaysTo(until, 1), "after the break");
        await page.getByRole("button", { name: "Resume now" }).click();
        await waitForText(page, "#next-run", /^Next plan: week 1, day 1/);
        assert.equal(await page.locator("#resume-button").isHidden(), true);
      });

      await t.step("Copy address puts the URL on the clipboard", async () => {
        await page.getByRole("button", { name: "Copy address" }).click();
        await waitForText(page, "#calendar-card .form-ok", /^Address copied\.$/);
        const copied = await page.evaluate(() =>
          (globalThis as unknown as PageWindow).navigator.clipboard.readText()
        );
        assert.equal(copied, url);
      });

      await t.step("Stop sharing revokes it: the URL is a 404", async () => {
        await page.getByRole("button", { name: "Stop sharing" }).click();
        await waitForText(page, "#calendar-card .form-ok", /Sharing stopped/);
        assert.equal(await page.locator("#calendar-link").isHidden(), true);
        const response = await fetch(url);
        assert.equal(response.status, 404);
        assert.equal((await response.json()).code, "NOT_FOUND");
        await page.getByRole("button", { name: "Add to calendar" }).waitFor();
      });

      await t.step("no console errors", () => {
        assert.deepEqual(problems, []);
      });
      await context.close();
    } finally {
      await browser?.close();
      await stack.stop();
    }
  },
});
