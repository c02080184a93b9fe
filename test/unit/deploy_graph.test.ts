/**
 * A deploy carries its fixes (issue 8, item 3). `supabase functions deploy` bundles each entry
 * file and what it imports through the import map, resolved afresh: the hosted runtime's config
 * reader ignores deno.json `links` and `patch`, and `deno.lock` is not uploaded. So the module
 * graph is resolved here the same way, `deno info --json --no-lock` with a copy of deno.json
 * without `links`/`patch` and without a node_modules directory, for every entry file:
 *
 * - no npm `postgres` package (3.4.9 has the closed-socket crash) is in any graph, and the
 *   orchestrator's graph holds the vendored, patched postgres.js;
 * - every local module is under `supabase/functions/` (what the CLI uploads), so no entry
 *   reaches into dev/, test/ or bench/;
 * - every npm import in the import map is an exact version;
 * - the tests and the outage drill (`test/support/server_process.ts`,
 *   test/e2e/db_outage.test.ts) resolve `postgres` to the same vendored file: the drill runs on
 *   the deploy graph.
 */
import assert from "node:assert/strict";
import { z } from "zod";

const ROOT = new URL("../../", import.meta.url);
const VENDORED = new URL("supabase/functions/_shared/vendor/postgres/src/", ROOT);
const ENTRIES = ["orchestrator", "agent-clo", "agent-alex", "agent-ta", "agent-socratic"];

const DenoJson = z.looseObject({
  imports: z.record(z.string(), z.string()),
  links: z.array(z.string()).optional(),
  patch: z.array(z.string()).optional(),
});

const InfoJson = z.object({
  modules: z.array(z.looseObject({ specifier: z.string(), error: z.string().optional() })),
  npmPackages: z.record(z.string(), z.unknown()),
});

async function readDenoJson() {
  return DenoJson.parse(JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))));
}

/**
 * deno.json as the hosted bundler reads it: no `links`, no `patch`, no node_modules. The copy
 * lives in a temporary directory, so relative import targets are made absolute against the
 * repository (the same files the real deno.json names).
 */
async function bundlerConfig(dir: string): Promise<string> {
  const { links: _links, patch: _patch, ...config } = await readDenoJson();
  const imports = Object.fromEntries(
    Object.entries(config.imports).map((
      [name, target],
    ) => [name, target.startsWith("./") ? new URL(target, ROOT).href : target]),
  );
  const path = `${dir}/deno.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({ ...config, imports, nodeModulesDir: "none" }, null, 2),
  );
  return path;
}

/** `deno info --json --no-lock` of `entry` with the config at `configPath`, run in its folder. */
async function moduleGraph(configPath: string, entry: string) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--no-lock", "--config", configPath, entry],
    cwd: configPath.slice(0, configPath.lastIndexOf("/")),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `deno info ${entry}: ${stderr}`);
  return InfoJson.parse(JSON.parse(new TextDecoder().decode(output.stdout)));
}

Deno.test("every entry's deploy graph: no npm postgres, only supabase/functions files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wisely-deploy-graph-" });
  try {
    const config = await bundlerConfig(dir);
    for (const name of ENTRIES) {
      const entry = new URL(`supabase/functions/${name}/index.ts`, ROOT).pathname;
      const graph = await moduleGraph(config, entry);
      const broken = graph.modules.filter((m) => m.error !== undefined);
      assert.deepEqual(broken, [], `${name}: unresolved modules`);
      const postgresPackages = Object.keys(graph.npmPackages).filter((id) => /^postgres@/.test(id));
      assert.deepEqual(postgresPackages, [], `${name}: no npm postgres in the bundle`);

      const local = graph.modules.map((m) => m.specifier).filter((s) => s.startsWith("file:"));
      const outside = local.filter((s) => !s.startsWith(new URL("supabase/functions/", ROOT).href));
      assert.deepEqual(outside, [], `${name}: every local module is uploaded with the function`);
      const vendored = local.filter((s) => s.startsWith(VENDORED.href));
      if (name === "orchestrator") {
        assert.ok(
          vendored.includes(new URL("connection.js", VENDORED).href),
          "the orchestrator bundles the vendored postgres.js",
        );
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the vendored postgres.js carries the closed-socket fix", async () => {
  const source = await Deno.readTextFile(new URL("connection.js", VENDORED));
  assert.match(source, /Wisely patch/);
  assert.match(source, /if \(!socket\) \{[^}]*CONNECTION_CLOSED/s);
});

Deno.test("tests and the outage drill resolve postgres to the deploy graph's file", async () => {
  assert.equal(import.meta.resolve("postgres"), new URL("index.js", VENDORED).href);
  // The drill's server process (test/support/server_process.ts) with the real deno.json, as it runs.
  const serve = new URL("test/support/server_process.ts", ROOT).pathname;
  const graph = await moduleGraph(new URL("deno.json", ROOT).pathname, serve);
  assert.deepEqual(Object.keys(graph.npmPackages).filter((id) => /^postgres@/.test(id)), []);
  assert.ok(
    graph.modules.some((m) => m.specifier === new URL("connection.js", VENDORED).href),
    "the drill runs the vendored postgres.js",
  );
});

Deno.test("deno.json: exact npm versions, no links or patch", async () => {
  const config = await readDenoJson();
  assert.equal(config.links, undefined, "the hosted bundler ignores links");
  assert.equal(config.patch, undefined, "the hosted bundler ignores patch");
  for (const [name, target] of Object.entries(config.imports)) {
    if (target.startsWith("./")) continue;
    assert.match(
      target,
      /^npm:(@[a-z0-9-]+\/)?[a-z0-9.-]+@\d+\.\d+\.\d+(\/[\w./-]+)?$/,
      `${name}: an exact npm version`,
    );
  }
});

/** Every .ts file under `dir`, recursively. */
async function* typeScriptFiles(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const url = new URL(entry.isDirectory ? `${entry.name}/` : entry.name, dir);
    if (entry.isDirectory) yield* typeScriptFiles(url);
    else if (entry.name.endsWith(".ts")) yield url;
  }
}

Deno.test("nothing imports npm:postgres (or any npm: specifier) around the import map", async () => {
  const direct: string[] = [];
  for (const top of ["supabase", "dev", "test", "bench"]) {
    for await (const file of typeScriptFiles(new URL(`${top}/`, ROOT))) {
      const source = await Deno.readTextFile(file);
      // Specifiers in import/export statements and dynamic imports, not prose.
      if (/(?:from|import)\s*\(?\s*["'](?:npm|jsr):/.test(source)) {
        direct.push(file.pathname.slice(ROOT.pathname.length));
      }
    }
  }
  assert.deepEqual(direct, [], "imports go through deno.json's import map");
});
