/**
 * CPU profiles of the server process over the V8 inspector protocol (the child runs with
 * `--inspect`): start, stop, and a summary of self time by package and by function, to show
 * where a route's time goes.
 */

import { z } from "zod";

const CallFrame = z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() });
const ProfileNode = z.object({
  id: z.number(),
  callFrame: CallFrame,
  children: z.array(z.number()).optional(),
});
const CpuProfile = z.object({
  nodes: z.array(ProfileNode),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});
type CallFrame = z.infer<typeof CallFrame>;
type ProfileNode = z.infer<typeof ProfileNode>;
type CpuProfile = z.infer<typeof CpuProfile>;
const Targets = z.array(z.object({ webSocketDebuggerUrl: z.string() }));
const Message = z.object({ id: z.number().optional(), result: z.unknown() });

/** Connects to the inspector on 127.0.0.1:`port` and starts sampling; `stop` summarises. */
export async function startProfiler(port: number): Promise<{ stop(): Promise<string[]> }> {
  const targets = Targets.parse(await (await fetch(`http://127.0.0.1:${port}/json/list`)).json());
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (e) => reject(new Error(`inspector: ${(e as ErrorEvent).message}`));
  });
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  ws.onmessage = (event) => {
    const { id = 0, result } = Message.parse(JSON.parse(event.data));
    pending.get(id)?.(result);
    pending.delete(id);
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
      const { profile } = z.object({ profile: CpuProfile }).parse(await send("Profiler.stop"));
      ws.close();
      return summaryLines(profile);
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

type Tally = Map<string, number>;
const add = <K>(m: Map<K, number>, key: K, ms: number) => m.set(key, (m.get(key) ?? 0) + ms);
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

/** Self time (sampled, ms) by package and by function; the callers of native functions. */
function tallies(profile: CpuProfile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => add(self, id, (profile.timeDeltas[i] ?? 0) / 1000));
  const packages: Tally = new Map();
  const functions: Tally = new Map();
  const native = new Map<string, Tally>();
  let total = 0;
  for (const [id, ms] of self) {
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
  return { total, packages, functions, native };
}

/** The top 12 packages and functions by self time, and who calls a native one of > 5 %. */
function summaryLines(profile: CpuProfile, top = 12): string[] {
  const { total, packages, functions, native } = tallies(profile);
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const byFunction = ranked(functions, total, top);
  const callers = byFunction.filter((f) => native.has(f.name) && f.share > 0.05).map((f) => {
    const calls = native.get(f.name)!;
    const sum = [...calls.values()].reduce((a, b) => a + b, 0);
    const via = ranked(calls, sum, 2).map((c) => `${c.name} (${(c.share * 100).toFixed(0)} %)`);
    return `${f.name} is called from ${via.join(" | ")}`;
  });
  return [
    `self time by package (of ${(total / 1000).toFixed(1)} s sampled, idle included): ` +
    ranked(packages, total, top).map((p) => `${p.name} ${pct(p.share)}`).join(", "),
    `top functions: ` + byFunction.map((f) => `${f.name} ${pct(f.share)}`).join(", "),
    ...callers,
  ];
}
