/**
 * Who is subscribed to what: Realtime's tenant topics. A public and a private channel of the
 * same name are different topics (Tenants.tenant_topic), so a private message never reaches
 * a public subscriber and the other way round. Each message is encoded once per protocol
 * version, as Realtime's MessageDispatcher caches the encoded frame per serializer.
 */
import { type Broadcast, encodeBroadcast, type Vsn } from "./serializer.ts";

export interface Subscriber {
  readonly vsn: Vsn;
  /** The joined topic, `realtime:<name>`; every subscriber of one key shares it. */
  readonly topic: string;
  /** Sends an encoded frame on the subscriber's socket. */
  deliver(frame: string | Uint8Array): void;
}

export function topicKey(name: string, isPrivate: boolean): string {
  return `${isPrivate ? "private" : "public"}:${name}`;
}

export class Hub {
  #topics = new Map<string, Set<Subscriber>>();

  subscribe(key: string, subscriber: Subscriber): void {
    let subscribers = this.#topics.get(key);
    if (!subscribers) this.#topics.set(key, subscribers = new Set());
    subscribers.add(subscriber);
  }

  unsubscribe(key: string, subscriber: Subscriber): void {
    const subscribers = this.#topics.get(key);
    if (!subscribers) return;
    subscribers.delete(subscriber);
    if (subscribers.size === 0) this.#topics.delete(key);
  }

  /** Subscribers of all topics together. */
  get size(): number {
    let size = 0;
    for (const subscribers of this.#topics.values()) size += subscribers.size;
    return size;
  }

  /** Sends `broadcast` to every subscriber of `key` but `except` (a sender without `self`). */
  publish(key: string, broadcast: Broadcast, except: Subscriber | null = null): void {
    const subscribers = this.#topics.get(key);
    if (!subscribers) return;
    const frames = new Map<Vsn, string | Uint8Array | null>();
    // A copy: a delivery may close a socket, which unsubscribes while we iterate.
    for (const subscriber of [...subscribers]) {
      if (subscriber === except) continue;
      let frame = frames.get(subscriber.vsn);
      if (frame === undefined) {
        frame = encodeBroadcast(subscriber.vsn, subscriber.topic, broadcast);
        frames.set(subscriber.vsn, frame);
      }
      if (frame !== null) subscriber.deliver(frame);
    }
  }
}
