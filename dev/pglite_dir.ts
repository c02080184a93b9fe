/**
 * A PGlite data directory claimed by one local stack. PGlite runs Postgres in single-user mode
 * and takes no lock of its own, so two stacks on one directory would corrupt it. The claim is an
 * exclusive advisory lock (flock) on `wisely-stack.lock` in the directory, held while the stack
 * runs. The OS drops it when the process ends in any way (even `kill -9`), so a crash leaves no
 * stale lock to clean up. The file also names the holder's pid, for the error message.
 *
 * The lock file doubles as a marker: it is only ever created in a directory that was empty or
 * held a database, so a directory with it may be emptied by `fresh`. Nothing else is deleted.
 */

/** Name of the lock file inside a data directory. */
export const LOCK_FILE = "wisely-stack.lock";
/** Postgres writes it first thing into a data directory; PGlite checks it to skip initdb. */
const VERSION_FILE = "PG_VERSION";

export interface ClaimOptions {
  /** Delete the directory's contents (under the lock) so PGlite starts afresh. Default: false. */
  fresh?: boolean;
}

export interface DataDirClaim {
  /** Absolute path of the directory. */
  path: string;
  /** True when the directory already held a database (after `fresh`: always false). */
  existing: boolean;
  /** Releases the lock. Safe to call twice. */
  release(): void;
}

/** Another process (or another claim in this one) holds the directory. */
export class DataDirInUseError extends Error {
  constructor(readonly path: string, readonly pid: number | null) {
    super(
      `${path} is in use by another local stack (pid ${pid ?? "unknown"}). Stop that one ` +
        `first, or give this one another data directory.`,
    );
    this.name = "DataDirInUseError";
  }
}

/** Creates `path` if missing and returns its absolute path and its entries' names. */
async function openDir(path: string): Promise<{ dir: string; names: string[] }> {
  try {
    await Deno.mkdir(path, { recursive: true });
    const dir = await Deno.realPath(path);
    const names: string[] = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    return { dir, names };
  } catch (cause) {
    throw new Error(`Cannot use ${path} as a PGlite data directory.`, { cause });
  }
}

/** The pid a holder wrote into the lock file, or null if it cannot be read. */
async function holderPid(lockPath: string): Promise<number | null> {
  try {
    const text = (await Deno.readTextFile(lockPath)).trim();
    return /^\d+$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}

/** Opens the lock file and takes the exclusive lock without waiting, or throws who holds it. */
async function lock(dir: string): Promise<Deno.FsFile> {
  const lockPath = `${dir}/${LOCK_FILE}`;
  const file = await Deno.open(lockPath, { read: true, write: true, create: true });
  try {
    if (!await file.tryLock(true)) throw new DataDirInUseError(dir, await holderPid(lockPath));
    await file.truncate(0);
    const bytes = new TextEncoder().encode(`${Deno.pid}\n`);
    for (let n = 0; n < bytes.length;) n += await file.write(bytes.subarray(n));
    return file;
  } catch (error) {
    file.close();
    throw error;
  }
}

/**
 * Claims `path` for one PGlite: creates it if missing, refuses a non-empty directory that is not
 * a data directory (so a mistyped path never gets an initdb or a wipe), takes the lock, and
 * empties it when `fresh`.
 */
export async function claimDataDir(
  path: string,
  options: ClaimOptions = {},
): Promise<DataDirClaim> {
  const { dir, names } = await openDir(path);
  const known = names.length === 0 || names.includes(VERSION_FILE) || names.includes(LOCK_FILE);
  if (!known) {
    throw new Error(
      `${dir} is neither empty nor a PGlite data directory (it has no ${VERSION_FILE}); ` +
        `refusing to use it. Give an empty or new directory.`,
    );
  }
  const file = await lock(dir);
  let existing = names.includes(VERSION_FILE);
  try {
    if (options.fresh) {
      for (const name of names) {
        if (name !== LOCK_FILE) await Deno.remove(`${dir}/${name}`, { recursive: true });
      }
      existing = false;
    }
  } catch (cause) {
    file.close();
    throw new Error(`Could not empty ${dir}.`, { cause });
  }
  let released = false;
  return {
    path: dir,
    existing,
    release() {
      if (released) return;
      released = true;
      file.close(); // Closing the last descriptor drops the flock.
    },
  };
}
