/**
 * The console as static files (dev/static.ts): every module the page names is part of the
 * site, every bare import a browser will meet is in the import map, the page's CSP hash matches
 * its import map, the local stack serves it under /console/ with a config.json for itself, and
 * an export writes the same files. No browser needed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CONSOLE_PATH, exportConsole, siteFiles } from "../../dev/static.ts";
import { LOCAL_PUBLISHABLE_KEY } from "../../dev/keys.ts";
import { startTestStack } from "../support/stack.ts";

const WEB = new URL("../../web/", import.meta.url);
const html = await Deno.readTextFile(new URL("index.html", WEB));

function importMap(): Record<string, string> {
  const text = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)?.[1];
  assert.ok(text, "index.html has an import map");
  return JSON.parse(text).imports;
}

/** Bare specifiers (not ./, ../ or /) a module imports, statically or dynamically. */
function bareImports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "");
  const found = [
    ...code.matchAll(
      /\b(?:import|export)\s*(?:[^"'`;]*?\bfrom\s*)?["']([^"']+)["']/g,
    ),
    ...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
  ].map((m) => m[1]);
  return [
    ...new Set(found.filter((s) => !/^(\.{1,2}\/|\/|https?:|data:)/.test(s))),
  ];
}

/** `./vendor/x.js` as a site path `vendor/x.js`. */
const sitePath = (url: string) => url.replace(/^\.\//, "");

Deno.test("every file the page loads is in the site", () => {
  const files = siteFiles();
  for (const [name, url] of Object.entries(importMap())) {
    assert.ok(
      files.has(sitePath(url)),
      `import map ${name} → ${url} is not served`,
    );
  }
  const scripts = [...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]);
  const styles = [...html.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)]
    .map((m) => m[1]);
  assert.deepEqual(scripts, [
    "vendor/@supabase/supabase-js/dist/umd/supabase.js",
    "app.js",
  ]);
  for (const path of [...scripts, ...styles]) {
    assert.ok(files.has(path), `${path} is not served`);
  }
  for (const file of files.values()) {
    assert.ok(Deno.statSync(file).isFile, file);
  }
  // Each vendored package ships its licence beside its code.
  for (
    const pkg of [
      "marked",
      "dompurify",
      "chart.js",
      "@kurkle/color",
      "@supabase/supabase-js",
    ]
  ) {
    assert.ok(
      [...files.keys()].some((p) => p.startsWith(`vendor/${pkg}/LICENSE`)),
      pkg,
    );
  }
});

Deno.test("every bare import of the site's modules resolves through the import map", async () => {
  const map = importMap();
  // The scanner finds what a browser would resolve: Chart.js's one bare import.
  const chunk = siteFiles().get("vendor/chart.js/dist/chunks/index.js")!;
  assert.deepEqual(bareImports(await Deno.readTextFile(chunk)), [
    "@kurkle/color",
  ]);
  for (const [path, file] of siteFiles()) {
    if (!/\.m?js$/.test(path) || path.endsWith("/umd/supabase.js")) continue;
    for (const specifier of bareImports(await Deno.readTextFile(file))) {
      assert.ok(
        specifier in map,
        `${path} imports "${specifier}", which the import map lacks`,
      );
    }
  }
  // The console's own modules use only the SDK and the three libraries (supabase-js is global).
  for (const [path, file] of siteFiles()) {
    if (path.startsWith("vendor/") || !path.endsWith(".js")) continue;
    for (const specifier of bareImports(await Deno.readTextFile(file))) {
      assert.ok(
        ["@wisely/sdk", "marked", "dompurify", "chart.js"].includes(specifier),
        path,
      );
    }
  }
});

Deno.test("the Content-Security-Policy allows exactly this import map", async () => {
  const text = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)![1];
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(text),
  );
  const hash = btoa(String.fromCharCode(...new Uint8Array(digest)));
  const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)
    ?.[1] ?? "";
  assert.match(csp, /script-src 'self' 'sha256-[^']+'/);
  assert.ok(
    csp.includes(`'sha256-${hash}'`),
    `update the CSP hash to sha256-${hash}`,
  );
  assert.match(csp, /object-src 'none'/);
  assert.equal(
    (html.match(/<script(?![^>]*\bsrc=)[^>]*>/g) ?? []).length,
    1,
    "one inline script",
  );
});

Deno.test("the stack serves the console under /console/ with its own config.json", async () => {
  const stack = await startTestStack("pglite");
  try {
    const get = (path: string, init?: RequestInit) =>
      fetch(`${stack.url}${path}`, { redirect: "manual", ...init });
    const bare = await get(CONSOLE_PATH);
    assert.equal(bare.status, 308);
    assert.equal(bare.headers.get("location"), `${CONSOLE_PATH}/`);
    const page = await get(`${CONSOLE_PATH}/`);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
    assert.equal(await page.text(), html);
    const config = await (await get(`${CONSOLE_PATH}/config.json`)).json();
    assert.deepEqual(config, {
      supabaseUrl: stack.url,
      publishableKey: LOCAL_PUBLISHABLE_KEY,
    });
    const sdk = await get(`${CONSOLE_PATH}/sdk/mod.mjs`);
    assert.equal(
      sdk.headers.get("content-type"),
      "text/javascript; charset=utf-8",
    );
    await sdk.body?.cancel();

    for (
      const path of [
        "nope.js",
        "sdk/types.ts",
        "vendor/marked/package.json",
        "%2e%2e/deno.json",
      ]
    ) {
      const missing = await get(`${CONSOLE_PATH}/${path}`);
      assert.equal(missing.status, 404, path);
      assert.equal((await missing.json()).code, "NOT_FOUND");
    }
    const post = await get(`${CONSOLE_PATH}/`, { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    assert.equal((await post.json()).code, "METHOD_NOT_ALLOWED");
    const head = await get(`${CONSOLE_PATH}/app.js`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  } finally {
    await stack.stop();
  }
});

Deno.test("an export writes the same site and the given project's config", async () => {
  const out = await Deno.makeTempDir({ prefix: "wisely-console-" });
  try {
    const config = {
      supabaseUrl: "https://abc.supabase.co",
      publishableKey: "sb_publishable_x",
    };
    const written = await exportConsole(out, config);
    const files = siteFiles();
    assert.deepEqual(written, [...files.keys(), "config.json"].sort());
    for (const [path, file] of files) {
      assert.deepEqual(
        await Deno.readFile(join(out, path)),
        await Deno.readFile(file),
        path,
      );
    }
    assert.deepEqual(
      JSON.parse(await Deno.readTextFile(join(out, "config.json"))),
      config,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
