/** What a benchmark ran on: printed next to every result, since numbers mean nothing without it. */
import type postgres from "postgres";

function cpuModel(): string {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim();
    const mhz = /^cpu MHz\s*:\s*([\d.]+)$/m.exec(info)?.[1];
    if (model) return mhz ? `${model} (${Math.round(Number(mhz))} MHz)` : model;
  } catch {
    // Not Linux: fall through.
  }
  return Deno.build.arch;
}

async function postgresVersion(sql?: postgres.Sql): Promise<string> {
  if (!sql) return "n/a";
  const [row] = await sql<{ v: string; max: string }[]>`
    select current_setting('server_version') as v, current_setting('max_connections') as max
  `.catch(() => [{ v: "unknown", max: "?" }]);
  return `${row.v} (max_connections ${row.max})`;
}

/** Date, CPU, memory, OS, Deno, PostgreSQL (when `sql` is given) and the load average, as lines. */
export async function machineLines(sql?: postgres.Sql): Promise<string[]> {
  let os: string = Deno.build.os;
  try {
    os = `${Deno.build.os} ${Deno.osRelease()}`;
  } catch {
    // Without --allow-sys the release is not readable.
  }
  return [
    `- date: ${new Date().toISOString()}`,
    `- CPU: ${cpuModel()}, ${navigator.hardwareConcurrency} cores`,
    `- memory: ${(Deno.systemMemoryInfo().total / 2 ** 30).toFixed(1)} GiB`,
    `- OS: ${os}`,
    `- Deno ${Deno.version.deno} (V8 ${Deno.version.v8})`,
    `- PostgreSQL ${await postgresVersion(sql)}`,
    // A busy machine skews everything: 1, 5 and 15 minute load averages at the start.
    `- load average at start: ${Deno.loadavg().map((l) => l.toFixed(2)).join(", ")}`,
  ];
}
