/**
 * CPU profiles of the server process over the V8 inspector protocol (the child runs with
 * `--inspect`): start, stop, and a summary of self time by package and by function, to show
 * where a route's time goes.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Profiler {
  stop(): Promise<CpuProfile>;
}

/** Connects to the inspector on 127.0.0.1:`port` and starts sampling. */
export async function startProfiler(port: number): Promise<Profiler> {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
    webSocketDebuggerUrl: string;
  }[];
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (e) => reject(new Error(`inspector: ${(e as ErrorEvent).message}`));
  });
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.id && pending.has(message.id)) {
      pending.get(message.id)!(message.result);
      pending.delete(message.id);
    }
  };
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 200 });
  await send("Profiler.start");
  return {
    async stop() {
      const result = await send("Profiler.stop") as { profile: CpuProfile };
      ws.close();
      return result.profile;
    },
  };
}

/** Which package a frame belongs to. */
function packageOf(frame: CallFrame): string {
  const url = frame.url;
  if (!url) return frame.functionName ? `(native) ${frame.functionName}` : "(program/idle/gc)";
  const npm = /registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (npm) return `npm:${npm[1]}`;
  if (url.startsWith("ext:")) return url.split("/").slice(0, 2).join("/");
  if (url.includes("/supabase/functions/")) {
    return url.replace(/^.*\/supabase\/functions\//, "app:").replace(/\/[^/]+$/, "/");
  }
  if (url.includes("/dev/")) return "dev (gateway)";
  return url.replace(/^file:\/\//, "");
}

export interface ProfileSummary {
  totalMs: number;
  byPackage: { name: string; share: number }[];
  byFunction: { name: string; share: number }[];
  /** For the top native functions (> 5 %): the JavaScript frames that called them, by share. */
  callers: { name: string; via: string }[];
}

type Tally = Map<string, number>;
const add = (m: Tally, key: string, ms: number) => m.set(key, (m.get(key) ?? 0) + ms);
const ranked = (m: Tally, total: number, top: number) =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, ms]) => ({
    name,
    share: ms / total,
  }));

/** The first up to three frames with a URL above `id`, stopping outside Deno's extensions. */
function callerChain(id: number, byId: Map<number, ProfileNode>, parent: Map<number, number>) {
  const chain: string[] = [];
  for (let up = parent.get(id); up !== undefined && chain.length < 3; up = parent.get(up)) {
    const f = byId.get(up)!.callFrame;
    if (f.url) chain.push(`${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\//, "")}`);
    if (f.url && !f.url.startsWith("ext:")) break;
  }
  return chain.join(" < ") || "(root)";
}

/** Self time by package and by function (sampled), biggest first. */
export function summarize(profile: CpuProfile, top = 12): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self: Tally = new Map();
  profile.samples.forEach((id, i) => add(self, String(id), (profile.timeDeltas[i] ?? 0) / 1000));
  const packages: Tally = new Map();
  const functions: Tally = new Map();
  const native = new Map<string, Tally>();
  let total = 0;
  for (const [key, ms] of self) {
    const id = Number(key);
    const frame = byId.get(id)!.callFrame;
    total += ms;
    add(packages, packageOf(frame), ms);
    const where = frame.url ? ` ${frame.url.replace(/^.*\//, "")}:${frame.lineNumber + 1}` : "";
    add(functions, `${frame.functionName || "(anonymous)"}${where}`, ms);
    if (!frame.url && frame.functionName && !frame.functionName.startsWith("(")) {
      const callers = native.get(frame.functionName) ?? new Map();
      native.set(frame.functionName, add(callers, callerChain(id, byId, parent), ms));
    }
  }
  const byFunction = ranked(functions, total, top);
  const callers = byFunction.filter((f) => native.has(f.name) && f.share > 0.05).map((f) => {
    const calls = native.get(f.name)!;
    const sum = [...calls.values()].reduce((a, b) => a + b, 0);
    const via = ranked(calls, sum, 2).map((c) => `${c.name} (${(c.share * 100).toFixed(0)} %)`);
    return { name: f.name, via: via.join(" | ") };
  });
  return { totalMs: total, byPackage: ranked(packages, total, top), byFunction, callers };
}

export function summaryLines(summary: ProfileSummary): string[] {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  return [
    `self time by package (of ${(summary.totalMs / 1000).toFixed(1)} s sampled, idle included): ` +
    summary.byPackage.map((p) => `${p.name} ${pct(p.share)}`).join(", "),
    `top functions: ` + summary.byFunction.map((f) => `${f.name} ${pct(f.share)}`).join(", "),
    ...summary.callers.map((c) => `${c.name} is called from ${c.via}`),
  ];
}
