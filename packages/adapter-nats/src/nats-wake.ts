// Wakes waiting claims (`pushWake`). Whatever makes a delivery claimable — an enqueue, a release,
// a reclaim, a freed slot, a resumed queue — publishes a core NATS message on `<p>.wake.<queue>`
// (no JetStream write); every process of the prefix subscribes once. A delayed delivery's wake
// carries its due time, and every process wakes its waiting claims then: all of them get a fair
// chance at it, not only the one that happened to see it first. A claim notes the wake generation
// of its queues before it looks for work, so a wake that lands while it looks is not lost.
import type { NatsConnection, Subscription } from '@nats-io/transport-node';

interface Waiter {
  tokens: readonly string[];
  fire: () => void;
}

export class WakeHub {
  private readonly generations = new Map<string, number>();
  private readonly waiters = new Set<Waiter>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly sub: Subscription;
  private readonly head: string;

  constructor(
    private readonly nc: NatsConnection,
    prefix: string,
  ) {
    this.head = `${prefix}.wake.`;
    this.sub = nc.subscribe(`${prefix}.wake.*`, {
      callback: (err, m) => {
        if (err) return;
        const inMs = m.data.length > 0 ? Number(new TextDecoder().decode(m.data)) : 0;
        this.at(m.subject.slice(this.head.length), Number.isFinite(inMs) ? inMs : 0);
      },
    });
  }

  /** A number that changes whenever one of the queues is woken. */
  generation(tokens: readonly string[]): number {
    let sum = 0;
    for (const t of tokens) sum += this.generations.get(t) ?? 0;
    return sum;
  }

  /** Tells every process that work may be claimable in these queues now, or at `dueAt` (backend ms, via `now`). Fire and forget. */
  wake(tokens: Iterable<string>, dueAt?: number, now?: number): void {
    const inMs = dueAt === undefined || now === undefined ? 0 : Math.max(0, dueAt - now);
    for (const t of new Set(tokens)) {
      this.at(t, inMs);
      try {
        this.nc.publish(this.head + t, inMs > 0 ? String(inMs) : '');
      } catch {
        // A closed or reconnecting connection: waiters fall back to their poll.
      }
    }
  }

  /** Resolves when one of the queues is woken after `since`, after `ms`, or on abort. */
  wait(tokens: readonly string[], since: number, ms: number, signal?: AbortSignal): Promise<void> {
    if (this.generation(tokens) !== since || ms <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const waiter: Waiter = { tokens, fire: done };
      const timer = setTimeout(done, ms);
      this.waiters.add(waiter);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  close(): void {
    this.sub.unsubscribe();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const w of [...this.waiters]) w.fire();
  }

  /** Wakes a queue's waiters in `inMs` (timers coalesced to 25 ms per queue). */
  private at(token: string, inMs: number): void {
    if (inMs <= 0) return this.bump(token);
    const slot = `${token} ${Math.ceil((Date.now() + inMs) / 25)}`;
    if (this.timers.has(slot)) return;
    const timer = setTimeout(() => {
      this.timers.delete(slot);
      this.bump(token);
    }, inMs + 1);
    timer.unref();
    this.timers.set(slot, timer);
  }

  private bump(token: string): void {
    this.generations.set(token, (this.generations.get(token) ?? 0) + 1);
    for (const w of [...this.waiters]) if (w.tokens.includes(token)) w.fire();
  }
}
