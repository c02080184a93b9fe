/**
 * The PGlite data directory claim (dev/pglite_dir.ts): one holder at a time, a clear message
 * naming the holder's pid, no stale lock after the holder dies, and `fresh` never deleting a
 * directory that is not a data directory or is in use.
 */
import assert from "node:assert/strict";
import { claimDataDir, DataDirInUseError, LOCK_FILE } from "../../dev/pglite_dir.ts";

const MODULE = new URL("../../dev/pglite_dir.ts", import.meta.url).href;

async function withTempDir(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "wisely_pglite_lock_" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) found.push(entry.name);
  return found.sort();
}

function inUse(pid: number) {
  return (error: unknown) => {
    assert.ok(error instanceof DataDirInUseError);
    assert.equal(error.pid, pid);
    assert.match(error.message, /is in use by another local stack \(pid \d+\)/);
    return true;
  };
}

Deno.test("a second claim on a held directory fails at once; after release it succeeds", async () => {
  await withTempDir(async (root) => {
    const dir = `${root}/nested/data`;
    const first = await claimDataDir(dir);
    assert.equal(first.path, await Deno.realPath(dir));
    assert.equal(first.existing, false);
    // flock is per open file description, so a second claim in this process conflicts too.
    await assert.rejects(claimDataDir(dir), inUse(Deno.pid));
    first.release();
    first.release();
    const second = await claimDataDir(dir);
    second.release();
  });
});

Deno.test("the lock dies with its process: no stale lock after kill -9", async () => {
  await withTempDir(async (dir) => {
    const code = `
      import { claimDataDir } from ${JSON.stringify(MODULE)};
      await claimDataDir(${JSON.stringify(dir)});
      console.log("claimed");
      setInterval(() => {}, 1000);
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      let output = "";
      while (!output.includes("claimed\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the child exited before claiming: ${output}`);
        output += value;
      }
      await assert.rejects(claimDataDir(dir), inUse(child.pid));
    } finally {
      child.kill("SIGKILL");
      await reader.cancel();
      await child.status;
    }
    const claim = await claimDataDir(dir);
    assert.equal((await Deno.readTextFile(`${dir}/${LOCK_FILE}`)).trim(), String(Deno.pid));
    claim.release();
  });
});

Deno.test("a non-empty directory that is not a data directory is refused, untouched", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/notes.txt`, "keep me");
    for (const fresh of [false, true]) {
      await assert.rejects(claimDataDir(dir, { fresh }), /neither empty nor a PGlite data dir/);
    }
    assert.deepEqual(await names(dir), ["notes.txt"]);
  });
});

Deno.test("fresh empties a data directory it holds, and never one held by another", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/PG_VERSION`, "17\n");
    await Deno.mkdir(`${dir}/base/1`, { recursive: true });
    await Deno.writeTextFile(`${dir}/base/1/1259`, "pages");

    const holder = await claimDataDir(dir);
    assert.equal(holder.existing, true);
    await assert.rejects(claimDataDir(dir, { fresh: true }), inUse(Deno.pid));
    assert.deepEqual(await names(dir), ["PG_VERSION", "base", LOCK_FILE]);
    holder.release();

    const fresh = await claimDataDir(dir, { fresh: true });
    assert.equal(fresh.existing, false);
    assert.deepEqual(await names(dir), [LOCK_FILE]);
    fresh.release();
  });
});

Deno.test("a path that is a file is refused with the path in the message", async () => {
  await withTempDir(async (root) => {
    const file = `${root}/data`;
    await Deno.writeTextFile(file, "x");
    await assert.rejects(claimDataDir(file), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, /Cannot use .*data as a PGlite data directory/);
      assert.ok(error.cause !== undefined);
      return true;
    });
    assert.equal(await Deno.readTextFile(file), "x");
  });
});
