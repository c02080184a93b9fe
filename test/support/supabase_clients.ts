/**
 * supabase-js clients against a local stack, as a frontend (publishable key) or a server (secret
 * key) creates them, and a collector for the Realtime events a client receives.
 */
import { createClient, type RealtimeChannel, type SupabaseClient } from "@supabase/supabase-js";
import { LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY } from "../../dev/keys.ts";

/** What a test needs of a stack: its base URL. */
export interface StackUrl {
  url: string;
}

/** Sessions live in memory and are refreshed by the test, so nothing runs after it ends. */
const CLIENT_OPTIONS = { auth: { persistSession: false, autoRefreshToken: false } } as const;

/** A browser's client: `createClient(url, publishable key)`. */
export function frontendClient(stack: StackUrl): SupabaseClient {
  return createClient(stack.url, LOCAL_PUBLISHABLE_KEY, CLIENT_OPTIONS);
}

/** A server's client with the secret key (the admin API, the service principal). */
export function serverClient(stack: StackUrl, key: string = LOCAL_SECRET_KEY): SupabaseClient {
  return createClient(stack.url, key, CLIENT_OPTIONS);
}

/** Ends a client's Realtime connection and its auth listeners. */
export async function closeClient(client: SupabaseClient): Promise<void> {
  await client.removeAllChannels();
  client.realtime.disconnect();
}

export interface ReceivedEvent {
  event: string;
  payload: Record<string, unknown>;
  /** `performance.timeOrigin + performance.now()` at arrival: one clock for every client. */
  receivedAt: number;
}

/** Every broadcast one channel receives, with a way to wait for the next ones. */
export class EventCollector {
  readonly events: ReceivedEvent[] = [];
  #waiters: { predicate: (e: ReceivedEvent) => boolean; resolve: (e: ReceivedEvent) => void }[] =
    [];

  constructor(readonly channel: RealtimeChannel) {
    channel.on("broadcast", { event: "*" }, (message) => {
      const received = {
        event: String(message.event),
        payload: message.payload ?? {},
        receivedAt: performance.timeOrigin + performance.now(),
      };
      this.events.push(received);
      this.#waiters = this.#waiters.filter((waiter) => {
        if (!waiter.predicate(received)) return true;
        waiter.resolve(received);
        return false;
      });
    });
  }

  /**
   * The first event (already received or still to come) that matches, or a rejection after
   * `timeoutMs`.
   */
  waitFor(
    predicate: (e: ReceivedEvent) => boolean,
    timeoutMs: number,
    what = "an event",
  ): Promise<ReceivedEvent> {
    const seen = this.events.find(predicate);
    if (seen) return Promise.resolve(seen);
    const { promise, resolve, reject } = Promise.withResolvers<ReceivedEvent>();
    const waiter = { predicate, resolve };
    this.#waiters.push(waiter);
    const timer = setTimeout(() => {
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      reject(new Error(`No ${what} within ${timeoutMs} ms on ${this.channel.topic}.`));
    }, timeoutMs);
    return promise.finally(() => clearTimeout(timer));
  }
}

/**
 * Subscribes `client` to `topic` (private by default) and resolves with the channel's events
 * once joined; rejects with the server's reason when the join is refused.
 */
export function subscribe(
  client: SupabaseClient,
  topic: string,
  options: { private?: boolean; timeoutMs?: number } = {},
): Promise<EventCollector> {
  const channel = client.channel(topic, { config: { private: options.private ?? true } });
  const collector = new EventCollector(channel);
  const { promise, resolve, reject } = Promise.withResolvers<EventCollector>();
  channel.subscribe((status, error) => {
    if (status === "SUBSCRIBED") resolve(collector);
    else if (status === "CHANNEL_ERROR" || status === "TIMED_OUT" || status === "CLOSED") {
      reject(new Error(`${status}: ${error?.message ?? "no reason"}`));
    }
  }, options.timeoutMs ?? 5_000);
  return promise;
}
