/**
 * Realtime delivery latency (spec 10): `subscribers` realtime-js clients, each on its own
 * WebSocket, join one private topic (with the secret key, so as the service role, which
 * passes the RLS read check); `events` rows are committed one after another with
 * `realtime.send`, and for every arrival at every client we record the time from just after
 * the commit returned to the arrival, on the same machine clock (performance.timeOrigin + now).
 * Events are sent one at a time, each after every client got the previous one: this measures
 * latency, not throughput.
 *
 * `deno task bench-local` (bench/local_stack.ts) runs it on each backend.
 */
import { RealtimeClient } from "@supabase/supabase-js";
import type postgres from "postgres";
import { LOCAL_SECRET_KEY } from "../dev/keys.ts";
import type { Stack } from "../dev/stack.ts";
import { LatencyRecorder } from "./lib/stats.ts";

export interface EventLatency {
  subscribers: number;
  events: number;
  /** Arrivals recorded (subscribers × events when nothing is lost). */
  deliveries: number;
  p50: number;
  p95: number;
  max: number;
}

/** What the benchmark needs of a stack. */
export type LatencyStack = Pick<Stack, "url" | "sql">;

const WARMUP_EVENTS = 5;
/** An event that has not reached every client by then counts as lost. */
const ARRIVAL_TIMEOUT_MS = 5_000;

function now(): number {
  return performance.timeOrigin + performance.now();
}

interface Subscriber {
  client: RealtimeClient;
  /** seq → arrival time. */
  arrivals: Map<number, number>;
}

async function connectSubscriber(
  stack: LatencyStack,
  topic: string,
  onArrival: () => void,
): Promise<Subscriber> {
  const client = new RealtimeClient(`${stack.url.replace(/^http/, "ws")}/realtime/v1`, {
    params: { apikey: LOCAL_SECRET_KEY },
  });
  const arrivals = new Map<number, number>();
  const channel = client.channel(topic, { config: { private: true } });
  channel.on("broadcast", { event: "bench" }, (message) => {
    arrivals.set(Number(message.payload?.seq), now());
    onArrival();
  });
  await new Promise<void>((resolve, reject) => {
    channel.subscribe((status, error) => {
      if (status === "SUBSCRIBED") resolve();
      else reject(new Error(`subscribe: ${status} ${error?.message ?? ""}`));
    }, 30_000);
  });
  return { client, arrivals };
}

async function commitEvent(sql: postgres.Sql, topic: string, seq: number): Promise<number> {
  await sql`
    select realtime.send(
      jsonb_build_object('seq', ${seq}::int, 'sent_at', clock_timestamp()), 'bench', ${topic}, true
    )
  `;
  return now();
}

/** Resolves once `count()` reaches `target`, or after the timeout. */
function arrived(count: () => number, target: number, wake: { fn: () => void }): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, ARRIVAL_TIMEOUT_MS);
    function done() {
      clearTimeout(timer);
      wake.fn = () => {};
      resolve();
    }
    wake.fn = () => count() >= target && done();
    wake.fn();
  });
}

export async function benchEventLatency(
  stack: LatencyStack,
  subscribers = 100,
  events = 50,
): Promise<EventLatency> {
  const topic = `bench.latency:${crypto.randomUUID()}`;
  let total = 0;
  const wake = { fn: () => {} };
  const clients: Subscriber[] = [];
  try {
    for (let i = 0; i < subscribers; i++) {
      clients.push(await connectSubscriber(stack, topic, () => (total++, wake.fn())));
    }
    const committed = new Map<number, number>();
    for (let seq = 0; seq < WARMUP_EVENTS + events; seq++) {
      const target = total + subscribers;
      const waiting = arrived(() => total, target, wake);
      committed.set(seq, await commitEvent(stack.sql, topic, seq));
      await waiting;
    }
    const recorder = new LatencyRecorder();
    for (const { arrivals } of clients) {
      for (const [seq, at] of arrivals) {
        if (seq >= WARMUP_EVENTS) recorder.add(at - committed.get(seq)!);
      }
    }
    const { n, p50, p95, max } = recorder.summary();
    return { subscribers, events, deliveries: n, p50, p95, max };
  } finally {
    await Promise.all(clients.map(({ client }) => client.removeAllChannels()));
  }
}
