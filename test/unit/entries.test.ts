/**
 * Each deployed entry (`supabase/functions/<name>/index.ts`) registers its server exactly once
 * (spec 3): `Deno.serve`, which Supabase's edge runtime serves, and no `export default` handler,
 * which `deno serve` would treat as a second registration.
 */
import assert from "node:assert/strict";

const FUNCTIONS = new URL("../../supabase/functions/", import.meta.url);

Deno.test("every entry registers one server: Deno.serve, no default export", async () => {
  const entries: string[] = [];
  for await (const entry of Deno.readDir(FUNCTIONS)) {
    if (!entry.isDirectory || entry.name.startsWith("_")) continue;
    const file = new URL(`${entry.name}/index.ts`, FUNCTIONS);
    const text = await Deno.readTextFile(file);
    // Comments do not count: only code registers a server.
    const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    assert.equal(code.match(/\bDeno\.serve\s*\(/g)?.length ?? 0, 1, `${entry.name}: Deno.serve`);
    assert.doesNotMatch(code, /\bexport\s+default\b/, `${entry.name}: export default`);
    entries.push(entry.name);
  }
  assert.deepEqual(entries.sort(), [
    "agent-alex",
    "agent-clo",
    "agent-socratic",
    "agent-ta",
    "orchestrator",
  ]);
});
