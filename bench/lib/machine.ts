/** What a benchmark ran on: printed next to every result, since numbers mean nothing without it. */
import type postgres from "postgres";

export interface MachineInfo {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  deno: string;
  v8: string;
  postgres: string;
  /** 1, 5 and 15 minute load averages when the run started: a busy machine skews everything. */
  loadAverage: string;
}

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

export async function machineInfo(sql?: postgres.Sql): Promise<MachineInfo> {
  let pg = "n/a";
  if (sql) {
    try {
      const [row] = await sql<{ v: string }[]>`select current_setting('server_version') as v`;
      const [max] = await sql<{ v: string }[]>`select current_setting('max_connections') as v`;
      pg = `${row.v} (max_connections ${max.v})`;
    } catch {
      pg = "unknown";
    }
  }
  let os: string = Deno.build.os;
  try {
    os = `${Deno.build.os} ${Deno.osRelease()}`;
  } catch {
    // Without --allow-sys the release is not readable.
  }
  return {
    date: new Date().toISOString(),
    cpu: cpuModel(),
    cores: navigator.hardwareConcurrency,
    memoryGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30 * 10) / 10,
    os,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    postgres: pg,
    loadAverage: Deno.loadavg().map((l) => l.toFixed(2)).join(", "),
  };
}

export function machineLines(info: MachineInfo): string[] {
  return [
    `- date: ${info.date}`,
    `- CPU: ${info.cpu}, ${info.cores} cores`,
    `- memory: ${info.memoryGiB} GiB`,
    `- OS: ${info.os}`,
    `- Deno ${info.deno} (V8 ${info.v8})`,
    `- PostgreSQL ${info.postgres}`,
    `- load average at start: ${info.loadAverage}`,
  ];
}
