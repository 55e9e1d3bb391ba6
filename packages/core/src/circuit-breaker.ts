// One circuit breaker per task type, shared by every worker of the backend: its state is a small
// document in the CoordinationStore, updated with compare-and-set, so the fleet opens, half-opens
// and closes together and admits a fixed number of trial runs in all.
//
// Health is judged over a rolling window: the breaker opens once the window holds at least
// `minimumVolume` outcomes of which at least `failureRate` failed. Only retryable failures count
// (a permanent error says the input is bad, not that what the task calls is down). While open,
// first runs are held back; retries still run — their backoff already paces them — and act as
// probes, like half-open trials: `halfOpenTrials` successes close the breaker, a failure opens it
// again for twice as long (up to maxCooldownMs). So a burst of tasks that each fail once
// completes at the pace of its retry delays, while a dependency that stays down keeps it open.
//
// Outcomes of closed breakers are counted locally and merged into the document a few times a
// second (never a write per task); trial and probe outcomes are written at once.
import type { Clock, TimerHandle } from './clock.js';
import type { Logger } from './logger.js';
import type { CompiledBreaker } from './options.js';
import type { CoordinationStore } from './ports/coordination-store.js';
import type { JsonValue } from './json.js';
import { newId } from './idempotency.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

interface BreakerDoc {
  state: BreakerState;
  /** Epoch ms (the writer's clock) until which first runs are held back. */
  openUntil: number;
  /** Opens since the breaker last closed: the cooldown doubles with each. */
  reopens: number;
  /** Trial runs in flight: id and when the trial is given up as lost (its worker crashed). */
  trials: [string, number][];
  /** Trial and probe successes since it opened. */
  successes: number;
  /** Rolling window: [bucket start, successes, failures]. */
  window: [number, number, number][];
}

export type BreakerTransition = { type: string; from: BreakerState; to: BreakerState; failures?: number; volume?: number; cooldownMs?: number };

/** What the runner does with a task of a type: run it (as a trial or probe, maybe), or hand it back for `waitMs`. */
export type BreakerDecision = { run: true; trial: string | null } | { run: false; waitMs: number };

const KEY_PREFIX = 'breaker:';
const FLUSH_MS = 250;
/** How stale a cached state may be before the next acquire refreshes it. */
const REFRESH_MS = 1_000;
const BUCKETS = 10;
const CAS_ATTEMPTS = 8;

const closedDoc = (): BreakerDoc => ({ state: 'closed', openUntil: 0, reopens: 0, trials: [], successes: 0, window: [] });

interface Cached {
  doc: BreakerDoc;
  readAt: number;
}

export class CircuitBreaker {
  private readonly cache = new Map<string, Cached>();
  private readonly deltas = new Map<string, { ok: number; fail: number }>();
  private readonly refreshing = new Map<string, Promise<BreakerDoc>>();
  private flushTimer: TimerHandle | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: CoordinationStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    readonly options: CompiledBreaker,
    /** How long a trial may run before it is given up as lost (the stall timeout). */
    private readonly trialTimeoutMs: number,
    private readonly onTransition: (t: BreakerTransition) => void = () => undefined,
  ) {}

  /**
   * Whether a task of `type` may run now. Decided on the fleet's state as read at most a second
   * ago: a fresh read is awaited when this process has none that recent (a new worker must not
   * run a batch of first runs into a breaker the fleet opened). Claiming a half-open trial slot
   * takes a compare-and-set round trip.
   */
  acquire(type: string, isRetry: boolean): BreakerDecision | Promise<BreakerDecision> {
    if (!this.options.enabled) return RUN;
    const c = this.cache.get(type);
    if (c === undefined || this.clock.now() - c.readAt > REFRESH_MS) {
      return this.refresh(type).then(
        (doc) => this.decide(type, doc, isRetry),
        (err: unknown) => {
          this.logger.warn({ err, taskType: type }, 'could not read the circuit breaker state; deciding on the last known one');
          return this.decide(type, c?.doc ?? CLOSED, isRetry);
        },
      );
    }
    return this.decide(type, c.doc, isRetry);
  }

  private decide(type: string, doc: BreakerDoc, isRetry: boolean): BreakerDecision | Promise<BreakerDecision> {
    if (doc.state === 'closed') return RUN;
    if (isRetry) return { run: true, trial: PROBE };
    const now = this.clock.now();
    if (doc.state === 'open' && now < doc.openUntil) return { run: false, waitMs: doc.openUntil - now };
    return this.claimTrial(type);
  }

  /** One read per type at a time, shared by every task of the type waiting on it. */
  private refresh(type: string): Promise<BreakerDoc> {
    let p = this.refreshing.get(type);
    if (!p) {
      p = this.read(type)
        .then((r) => r.doc)
        .finally(() => this.refreshing.delete(type));
      this.refreshing.set(type, p);
    }
    return p;
  }

  /**
   * Records how a run of `type` ended. `trial` is what acquire returned; `counts` is false for
   * outcomes that say nothing about health (permanent errors, lease lost, released).
   */
  record(type: string, trial: string | null, outcome: 'success' | 'failure' | 'none'): void {
    if (!this.options.enabled) return;
    if (trial !== null) {
      this.serial(() => this.settleTrial(type, trial, outcome));
      return;
    }
    if (outcome === 'none') return;
    let d = this.deltas.get(type);
    if (!d) this.deltas.set(type, (d = { ok: 0, fail: 0 }));
    if (outcome === 'success') d.ok++;
    else d.fail++;
    this.flushTimer ??= this.clock.setTimeout(() => {
      this.flushTimer = null;
      this.serial(() => this.flush());
    }, FLUSH_MS);
  }

  /** Every breaker of the fleet, read from the store. */
  async fleet(): Promise<Record<string, BreakerState>> {
    const out: Record<string, BreakerState> = {};
    for (const e of await this.store.scan(KEY_PREFIX)) out[e.key.slice(KEY_PREFIX.length)] = (e.value as unknown as BreakerDoc).state;
    return out;
  }

  /** Writes pending counts (graceful stop). */
  async stop(): Promise<void> {
    if (this.flushTimer) this.clock.clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.serial(() => this.flush());
    await this.chain;
  }

  private async read(type: string): Promise<{ doc: BreakerDoc; version: number | null }> {
    const [v] = await this.store.read([KEY_PREFIX + type]);
    const doc = v ? (v.value as unknown as BreakerDoc) : closedDoc();
    this.cache.set(type, { doc, readAt: this.clock.now() });
    return { doc, version: v ? v.version : null };
  }

  /** Read-modify-write with compare-and-set; `change` returns null to write nothing. */
  private async update(type: string, change: (doc: BreakerDoc, now: number) => BreakerDoc | null): Promise<BreakerDoc> {
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const { doc, version } = await this.read(type);
      const now = this.clock.now();
      const next = change(structuredClone(doc), now);
      if (next === null) return doc;
      const written = await this.store.write(KEY_PREFIX + type, next as unknown as JsonValue, version);
      if (written !== null) {
        this.cache.set(type, { doc: next, readAt: now });
        if (next.state !== doc.state) this.announce(type, doc, next);
        return next;
      }
    }
    throw new Error(`circuit breaker of "${type}": ${CAS_ATTEMPTS} concurrent updates in a row lost the race`);
  }

  private async claimTrial(type: string): Promise<BreakerDecision> {
    const id = newId();
    let granted = false;
    try {
      const doc = await this.update(type, (d, now) => {
        granted = false;
        if (d.state === 'closed') return null;
        if (d.state === 'open' && now < d.openUntil) return null;
        d.trials = d.trials.filter(([, until]) => until > now);
        if (d.trials.length >= this.options.halfOpenTrials) return null;
        d.trials.push([id, now + this.trialTimeoutMs]);
        d.state = 'half_open';
        granted = true;
        return d;
      });
      if (doc.state === 'closed') return RUN;
      if (granted) return { run: true, trial: id };
      const now = this.clock.now();
      return { run: false, waitMs: doc.state === 'open' && doc.openUntil > now ? doc.openUntil - now : REFRESH_MS };
    } catch (err) {
      this.logger.warn({ err, taskType: type }, 'could not claim a circuit breaker trial; holding the task back');
      return { run: false, waitMs: REFRESH_MS };
    }
  }

  private async settleTrial(type: string, trial: string, outcome: 'success' | 'failure' | 'none'): Promise<void> {
    await this.update(type, (d, now) => {
      const had = d.trials.length;
      d.trials = d.trials.filter(([id, until]) => id !== trial && until > now);
      if (outcome === 'none') return d.trials.length === had ? null : d;
      if (d.state === 'closed') return null;
      if (outcome === 'failure') return this.open(d, now);
      d.successes++;
      if (d.successes < this.options.halfOpenTrials) return d;
      return closedDoc();
    });
  }

  private async flush(): Promise<void> {
    if (this.deltas.size === 0) return;
    const pending = [...this.deltas];
    this.deltas.clear();
    for (const [type, delta] of pending) {
      await this.update(type, (d, now) => {
        const size = Math.max(1, Math.floor(this.options.windowMs / BUCKETS));
        const start = now - (now % size);
        d.window = d.window.filter(([at]) => at > now - this.options.windowMs);
        const last = d.window.at(-1);
        if (last && last[0] === start) {
          last[1] += delta.ok;
          last[2] += delta.fail;
        } else d.window.push([start, delta.ok, delta.fail]);
        if (d.state !== 'closed' || delta.fail === 0) return d;
        let ok = 0;
        let fail = 0;
        for (const [, o, f] of d.window) {
          ok += o;
          fail += f;
        }
        if (ok + fail >= this.options.minimumVolume && fail / (ok + fail) >= this.options.failureRate) return this.open(d, now);
        return d;
      }).catch((err: unknown) => this.logger.warn({ err, taskType: type }, 'could not update the circuit breaker; its counts from this process are dropped'));
    }
  }

  private open(d: BreakerDoc, now: number): BreakerDoc {
    const cooldownMs = Math.min(this.options.maxCooldownMs, this.options.cooldownMs * 2 ** Math.min(d.state === 'closed' ? 0 : d.reopens, 30));
    return { state: 'open', openUntil: now + cooldownMs, reopens: d.state === 'closed' ? 1 : d.reopens + 1, trials: [], successes: 0, window: d.window };
  }

  private announce(type: string, from: BreakerDoc, to: BreakerDoc): void {
    let failures = 0;
    let volume = 0;
    for (const [, o, f] of to.window) {
      failures += f;
      volume += o + f;
    }
    const cooldownMs = to.state === 'open' ? Math.max(0, to.openUntil - this.clock.now()) : undefined;
    this.onTransition({ type, from: from.state, to: to.state, failures, volume, ...(cooldownMs === undefined ? {} : { cooldownMs }) });
  }

  /** Breaker writes of this process run one at a time, in order. */
  private serial(job: () => Promise<void>): void {
    this.chain = this.chain.then(job).catch((err: unknown) => this.logger.warn({ err }, 'circuit breaker update failed'));
  }
}

const CLOSED: BreakerDoc = Object.freeze(closedDoc()) as BreakerDoc;
const RUN: BreakerDecision = Object.freeze({ run: true, trial: null }) as BreakerDecision;
/** The trial id of a retry that ran while the breaker was open: its outcome settles like a trial's. */
const PROBE = 'probe';
