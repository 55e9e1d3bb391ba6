// Pieces several scenarios share: opening an instance with a bounded close, pre-enqueueing,
// and waiting for N unique completions.
import { makePayloads } from '../payload.js';
import { bounded, now, waitUntil } from '../time.js';
import type { Instance, OpenOptions } from '../systems/types.js';
import type { RunContext, RunResult } from './types.js';

export async function withInstance(ctx: RunContext, options: OpenOptions, fn: (inst: Instance) => Promise<RunResult>): Promise<RunResult> {
  const inst = await ctx.system.open(ctx.ns, options);
  try {
    return await fn(inst);
  } finally {
    await bounded(() => inst.close(), 15_000, `${ctx.system.id}: close`, ctx.log);
  }
}

/** Enqueues `count` payloads in batches; false if the deadline passed first. */
export async function preEnqueue(inst: Instance, count: number, batchSize: number, deadline: number, from = 0): Promise<boolean> {
  for (let done = 0; done < count; done += batchSize) {
    if (now() > deadline) return false;
    await inst.enqueueBatch(makePayloads(from + done, Math.min(batchSize, count - done)));
  }
  return true;
}

/** Counts unique completions and resolves the moment the target is reached. */
export class CompletionTracker {
  readonly ids = new Set<string>();
  reports = 0;
  private resolve: (() => void) | null = null;
  private readonly reached: Promise<void>;

  constructor(private readonly target: number) {
    this.reached = new Promise((r) => (this.resolve = r));
    if (target <= 0) this.resolve!();
  }

  readonly onCompleted = (id: string): void => {
    this.reports++;
    this.ids.add(id);
    if (this.ids.size >= this.target) this.resolve?.();
  };

  /** True once `target` unique completions were seen (and the system confirms them durable), false at the deadline. */
  async wait(inst: Instance, deadline: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((r) => (timer = setTimeout(() => r(false), Math.max(0, deadline - now()))));
    const ok = await Promise.race([this.reached.then(() => true as const), expired]);
    clearTimeout(timer);
    if (!ok) return false;
    if (inst.allSettled) return waitUntil(() => inst.allSettled!(), deadline, 5);
    return true;
  }
}
