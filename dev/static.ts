/**
 * The learner's web console as static files: served by the local stack under `/console/`, or
 * exported to a folder that any static host serves (`deno task console-export`).
 *
 * The site is `web/` as it is, plus:
 * - `sdk/`: the SDK's JavaScript modules (`sdk/*.mjs`), which `web/index.html`'s import map names;
 * - `vendor/<package>/<file>`: the browser builds of the npm packages the console uses, taken
 *   from the exact versions `deno.json` pins (installed by Deno under `node_modules/`), so the
 *   browser runs the same audited files as the tests, with no CDN and no build step;
 * - `config.json`: `{supabaseUrl, publishableKey}`, which project the console talks to.
 *
 * Usage: deno task console-export --out DIR --url https://<ref>.supabase.co --key <publishable>
 */
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { FetchHandler } from "./gateway.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Where the stack serves the console. */
export const CONSOLE_PATH = "/console";

/**
 * The npm files the browser loads, by package: each must be an ES module with no bare
 * imports other than the packages listed here, or (supabase-js) a self-contained classic
 * script. `from` names the package whose dependency it is (resolved as Node resolves it).
 */
export const VENDOR_FILES: readonly {
  pkg: string;
  file: string;
  from?: string;
}[] = [
  { pkg: "@supabase/supabase-js", file: "dist/umd/supabase.js" },
  { pkg: "marked", file: "lib/marked.esm.js" },
  { pkg: "dompurify", file: "dist/purify.es.mjs" },
  { pkg: "chart.js", file: "dist/chart.js" },
  { pkg: "chart.js", file: "dist/chunks/index.js" },
  { pkg: "@kurkle/color", file: "dist/color.esm.js", from: "chart.js" },
];

/** The SDK's run-time modules (the `.ts` files are types only). */
const SDK_FILES = [
  "mod.mjs",
  "orchestrator.mjs",
  "errors.mjs",
  "events.mjs",
  "sse.mjs",
];

export interface ConsoleConfig {
  /** The project URL given to `createClient`. */
  supabaseUrl: string;
  /** The project's publishable (anon) key. */
  publishableKey: string;
}

/** A package's directory as Node would find it from `fromDir` (walking up `node_modules`). */
function packageDir(pkg: string, fromDir: string): string {
  for (let dir = fromDir;; dir = dirname(dir)) {
    const candidate = dir.endsWith(`${sep}node_modules`)
      ? join(dir, pkg)
      : join(dir, "node_modules", pkg);
    try {
      return Deno.realPathSync(candidate);
    } catch {
      if (dirname(dir) === dir) {
        throw new Error(
          `npm package ${pkg} is not installed (run \`deno install\`).`,
        );
      }
    }
  }
}

/**
 * Site path (`vendor/marked/lib/marked.esm.js`) → file on disk, for every vendored file and
 * each package's licence files, which travel with its code.
 */
function vendorFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const { pkg, file, from } of VENDOR_FILES) {
    const base = from ? packageDir(pkg, packageDir(from, ROOT)) : packageDir(pkg, ROOT);
    files.set(`vendor/${pkg}/${file}`, join(base, file));
    for (const entry of Deno.readDirSync(base)) {
      if (entry.isFile && /^licen[cs]e/i.test(entry.name)) {
        files.set(`vendor/${pkg}/${entry.name}`, join(base, entry.name));
      }
    }
  }
  return files;
}

/** Every file of `dir`, as site paths relative to it (hidden files left out). */
function walk(dir: string, prefix = ""): string[] {
  const paths: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.name.startsWith(".")) continue;
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) paths.push(...walk(join(dir, entry.name), path));
    else if (entry.isFile) paths.push(path);
  }
  return paths;
}

/** The whole site except config.json: site path → file on disk. */
export function siteFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const path of walk(join(ROOT, "web"))) {
    files.set(path, join(ROOT, "web", path));
  }
  for (const file of SDK_FILES) {
    files.set(`sdk/${file}`, join(ROOT, "sdk", file));
  }
  for (const [path, file] of vendorFiles()) files.set(path, file);
  return files;
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json; charset=utf-8",
  png: "image/png",
  md: "text/markdown; charset=utf-8",
  svg: "image/svg+xml",
  txt: "text/plain; charset=utf-8",
};

function contentType(path: string): string {
  const dot = path.lastIndexOf(".");
  if (dot < path.lastIndexOf("/") + 1) return TYPES.txt; // LICENSE and the like
  return TYPES[path.slice(dot + 1)] ?? "application/octet-stream";
}

const COMMON_HEADERS = {
  // The console changes with the code; a reload should always show the current files.
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

function plain(
  status: number,
  error: string,
  code: string,
  headers: HeadersInit = {},
): Response {
  return Response.json({ error, code }, {
    status,
    headers: { ...COMMON_HEADERS, ...headers },
  });
}

/**
 * The console under `CONSOLE_PATH`: `/console` redirects to `/console/`, which is index.html.
 * Files are read on each request, so edits under web/ and sdk/ show on reload.
 */
export function createConsoleSite(config: ConsoleConfig): FetchHandler {
  const files = siteFiles();
  const configJson = JSON.stringify(config);
  return {
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method !== "GET" && req.method !== "HEAD") {
        return plain(
          405,
          "The console is read-only: use GET.",
          "METHOD_NOT_ALLOWED",
          {
            allow: "GET, HEAD",
          },
        );
      }
      if (url.pathname === CONSOLE_PATH) {
        return new Response(null, {
          status: 308,
          headers: { location: `${CONSOLE_PATH}/` },
        });
      }
      const path = url.pathname.slice(CONSOLE_PATH.length + 1) || "index.html";
      const headers = { ...COMMON_HEADERS, "content-type": contentType(path) };
      if (path === "config.json") {
        return new Response(req.method === "HEAD" ? null : configJson, {
          headers,
        });
      }
      const file = files.get(path);
      if (file === undefined) {
        return plain(404, "No such file in the console.", "NOT_FOUND");
      }
      const body = await Deno.readFile(file);
      return new Response(req.method === "HEAD" ? null : body, { headers });
    },
  };
}

/** Writes the site to `outDir` (created if missing) with `config` as its config.json. */
export async function exportConsole(
  outDir: string,
  config: ConsoleConfig,
): Promise<string[]> {
  const written: string[] = [];
  for (const [path, file] of siteFiles()) {
    const target = join(outDir, ...path.split("/"));
    if (relative(outDir, target).startsWith("..")) {
      throw new Error(`unsafe path ${path}`);
    }
    await Deno.mkdir(dirname(target), { recursive: true });
    await Deno.copyFile(file, target);
    written.push(path);
  }
  await Deno.writeTextFile(
    join(outDir, "config.json"),
    `${JSON.stringify(config, null, 2)}\n`,
  );
  written.push("config.json");
  return written.sort();
}

const USAGE = `Usage: deno task console-export --out DIR --url PROJECT_URL --key PUBLISHABLE_KEY

Writes the web console as static files to DIR, pointed at the project (config.json).`;

function parseExportArgs(
  args: string[],
): { outDir: string; config: ConsoleConfig } | null {
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) {
    if (
      !["--out", "--url", "--key"].includes(args[i]) ||
      args[i + 1] === undefined
    ) return null;
    values.set(args[i], args[i + 1]);
  }
  const [outDir, supabaseUrl, publishableKey] = ["--out", "--url", "--key"].map(
    (flag) => values.get(flag),
  );
  if (!outDir || !supabaseUrl || !publishableKey) return null;
  try {
    new URL(supabaseUrl);
  } catch {
    return null;
  }
  return {
    outDir: resolve(Deno.env.get("INIT_CWD") ?? Deno.cwd(), outDir),
    config: { supabaseUrl, publishableKey },
  };
}

if (import.meta.main) {
  const parsed = parseExportArgs(Deno.args);
  if (parsed === null) {
    console.error(USAGE);
    Deno.exit(2);
  }
  const written = await exportConsole(parsed.outDir, parsed.config);
  console.log(
    `Wrote ${written.length} files to ${parsed.outDir}; serve that folder as is.`,
  );
}
