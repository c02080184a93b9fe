/**
 * Headless Chromium for the console's browser tests (playwright-core drives the system's
 * Chromium; it downloads none). A test is skipped, with one warning, where no binary exists.
 */
import type { Page } from "playwright-core";

const CHROMIUM_PATHS = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/** Generous: every wait ends as soon as the page shows what it waits for. */
export const WAIT_MS = 20_000;

function findChromium(): string | null {
  const configured = Deno.env.get("WISELY_CHROMIUM");
  for (const path of configured ? [configured] : CHROMIUM_PATHS) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not there
    }
  }
  return null;
}

/** The Chromium binary (`WISELY_CHROMIUM`, else the usual paths), or null: skip the test. */
export const CHROMIUM = findChromium();
if (CHROMIUM === null) {
  console.warn(
    "browser tests skipped: no Chromium binary (apt-get install chromium, or set WISELY_CHROMIUM)",
  );
}

/** What the in-page callbacks here read (Deno's type check knows no DOM). */
interface TextWindow {
  document: { querySelector(selector: string): { textContent: string | null } | null };
}

/** Waits until `selector`'s text matches `pattern`. */
export async function waitForText(page: Page, selector: string, pattern: RegExp): Promise<void> {
  await page.waitForFunction(
    ([sel, source, flags]) =>
      new RegExp(source, flags).test(
        (globalThis as unknown as TextWindow).document.querySelector(sel)?.textContent ?? "",
      ),
    [selector, pattern.source, pattern.flags] as const,
    { timeout: WAIT_MS },
  );
}
