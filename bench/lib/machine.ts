/** What a benchmark ran on: printed next to every result, since numbers mean nothing without it. */
import type postgres from "postgres";

/** Date, CPU, memory, OS, Deno, PostgreSQL (when `sql` is given) and the load average, as lines. */
export async function machineLines(sql?: postgres.Sql): Promise<string[]> {
  // Not Linux: no /proc/cpuinfo, and the CPU is named by its architecture.
  const info = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim();
  const mhz = /^cpu MHz\s*:\s*([\d.]+)$/m.exec(info)?.[1];
  const cpu = !model ? Deno.build.arch : mhz ? `${model} (${Math.round(Number(mhz))} MHz)` : model;
  const [pg] = sql
    ? await sql<{ v: string; max: string }[]>`
      select current_setting('server_version') as v, current_setting('max_connections') as max
    `.catch(() => [{ v: "unknown", max: "?" }])
    : [null];
  return [
    `- date: ${new Date().toISOString()}`,
    `- CPU: ${cpu}, ${navigator.hardwareConcurrency} cores`,
    `- memory: ${(Deno.systemMemoryInfo().total / 2 ** 30).toFixed(1)} GiB`,
    `- OS: ${Deno.build.os} ${Deno.osRelease()}`,
    `- Deno ${Deno.version.deno} (V8 ${Deno.version.v8})`,
    `- PostgreSQL ${pg ? `${pg.v} (max_connections ${pg.max})` : "n/a"}`,
    // A busy machine skews everything: 1, 5 and 15 minute load averages at the start.
    `- load average at start: ${Deno.loadavg().map((l) => l.toFixed(2)).join(", ")}`,
  ];
}
