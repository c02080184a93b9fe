/**
 * CPU profiles of the server process over the V8 inspector protocol (the child runs with
 * `--inspect`): start, stop, and a summary of self time by package and by function, to show
 * where a route's time goes.
 */
import { z } from "zod";
import { fmtPct } from "./stats.ts";

const CallFrame = z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() });
const numbers = z.array(z.number());
const Node = z.object({ id: z.number(), callFrame: CallFrame, children: numbers.optional() });
const CpuProfile = z.object({ nodes: z.array(Node), samples: numbers, timeDeltas: numbers });
type CallFrame = z.infer<typeof CallFrame>;
type CpuProfile = z.infer<typeof CpuProfile>;
const Targets = z.array(z.object({ webSocketDebuggerUrl: z.string() }));
const Message = z.object({ id: z.number().optional(), result: z.unknown() });

/** Connects to the inspector on 127.0.0.1:`port`, starts sampling; returns the stop (a summary). */
export async function startProfiler(port: number): Promise<() => Promise<string[]>> {
  const targets = Targets.parse(await (await fetch(`http://127.0.0.1:${port}/json/list`)).json());
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = (e) => reject(new Error(`inspector: ${(e as ErrorEvent).message}`));
  });
  // One command at a time, each awaited before the next: a reply (a message with an id) is
  // the answer to the command in flight; events have no id.
  let answer: (result: unknown) => void = () => {};
  ws.onmessage = (event) => {
    const message = Message.parse(JSON.parse(event.data));
    if (message.id !== undefined) answer(message.result);
  };
  let id = 0;
  const send = (method: string, params = {}) =>
    new Promise<unknown>((resolve) => {
      answer = resolve;
      ws.send(JSON.stringify({ id: ++id, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 200 });
  await send("Profiler.start");
  return async () => {
    const { profile } = z.object({ profile: CpuProfile }).parse(await send("Profiler.stop"));
    ws.close();
    return summaryLines(profile);
  };
}

function packageOf({ url, functionName }: CallFrame): string {
  if (!url) return functionName ? `(native) ${functionName}` : "(program/idle/gc)";
  const npm = /registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (npm) return `npm:${npm[1]}`;
  if (url.startsWith("ext:")) return url.split("/").slice(0, 2).join("/");
  if (url.includes("/supabase/functions/")) {
    return url.replace(/^.*\/supabase\/functions\//, "app:").replace(/\/[^/]+$/, "/");
  }
  if (url.includes("/dev/")) return "dev (gateway)";
  return url.replace(/^file:\/\//, "");
}

const add = <K>(m: Map<K, number>, key: K, ms: number) => m.set(key, (m.get(key) ?? 0) + ms);

/** `items`' ms summed by `key`, largest first, each with its share of all of them. */
function ranked<T extends { ms: number }>(items: T[], key: (item: T) => string) {
  const sums = new Map<string, number>();
  for (const item of items) add(sums, key(item), item.ms);
  const total = [...sums.values()].reduce((a, b) => a + b, 0);
  return [...sums].sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({ name, share: ms / total }));
}

const file = (url: string) => url.replace(/^.*\//, "");

/** Each sampled node: its frame, its self time (ms) and the frames it was called from. */
function sampledNodes(profile: CpuProfile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parent = new Map(profile.nodes.flatMap((n) => (n.children ?? []).map((c) => [c, n.id])));
  // The first up to three frames with a URL above `id`, stopping outside Deno's extensions.
  const callers = (id: number) => {
    const chain: string[] = [];
    for (let up = parent.get(id); up !== undefined && chain.length < 3; up = parent.get(up)) {
      const f = byId.get(up)!;
      if (f.url) chain.push(`${f.functionName || "(anonymous)"} ${file(f.url)}`);
      if (f.url && !f.url.startsWith("ext:")) break;
    }
    return chain.join(" < ") || "(root)";
  };
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => add(self, id, (profile.timeDeltas[i] ?? 0) / 1000));
  return [...self].map(([id, ms]) => ({ frame: byId.get(id)!, ms, callers: callers(id) }));
}

/** `name file:line`, or the bare name of a native function. */
function functionOf({ functionName, url, lineNumber }: CallFrame): string {
  return `${functionName || "(anonymous)"}${url ? ` ${file(url)}:${lineNumber + 1}` : ""}`;
}

/** The top 12 packages and functions by self time, and who calls a native one of > 5 %. */
function summaryLines(profile: CpuProfile, top = 12): string[] {
  const nodes = sampledNodes(profile);
  const total = nodes.reduce((sum, n) => sum + n.ms, 0);
  const packages = ranked(nodes, (n) => packageOf(n.frame)).slice(0, top);
  const functions = ranked(nodes, (n) => functionOf(n.frame)).slice(0, top);
  // A native function (no URL) does its work for its JavaScript callers: name the top two.
  const callers = functions.filter((f) => f.share > 0.05).flatMap((f) => {
    const calls = nodes.filter((n) => !n.frame.url && n.frame.functionName === f.name);
    if (!calls.length || f.name.startsWith("(")) return [];
    const via = ranked(calls, (n) => n.callers).slice(0, 2);
    const shares = via.map((c) => `${c.name} (${(c.share * 100).toFixed(0)} %)`);
    return `${f.name} is called from ${shares.join(" | ")}`;
  });
  return [
    `self time by package (of ${(total / 1000).toFixed(1)} s sampled, idle included): ` +
    packages.map((p) => `${p.name} ${fmtPct(p.share)}`).join(", "),
    `top functions: ` + functions.map((f) => `${f.name} ${fmtPct(f.share)}`).join(", "),
    ...callers,
  ];
}
