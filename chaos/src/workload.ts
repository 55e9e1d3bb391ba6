// The chaos task, shared by the parent (which enqueues it and checks its stored result) and the
// workers (which run it). Each step folds the task's number into a hash chain carried in the
// checkpoint, so the final result depends on every checkpoint the run resumed from: a result
// built on a lost, stale or foreign checkpoint does not match the one the parent computes.

export const TASK_TYPE = 'chaos.steps';

export interface ChaosInput {
  /** The task's number, 0..tasks-1. */
  n: number;
  steps: number;
  stepMs: number;
  seed: number;
}

/** What each flushed checkpoint holds: the step it closes and the chain value after it. */
export interface ChaosCheckpoint {
  step: number;
  acc: string;
}

export interface ChaosResult {
  n: number;
  steps: number;
  acc: string;
  /** Which handler run produced this result (journal id), to tell completions apart. */
  run: string;
  pid: number;
}

/** FNV-1a (32 bit), hex: cheap, deterministic, enough to notice a wrong chain. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

export const INITIAL_ACC = '00000000';

export function nextAcc(acc: string, n: number, step: number): string {
  return fnv1a(`${acc}:${n}:${step}`);
}

export function expectedAcc(n: number, steps: number): string {
  let acc = INITIAL_ACC;
  for (let step = 1; step <= steps; step++) acc = nextAcc(acc, n, step);
  return acc;
}

/** mulberry32: a small seeded PRNG, so a run's victims and step timings follow from --seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Simulated work of one step: 0.5×–1.5× the mean, fixed by (seed, task, step). */
export function stepDelayMs(input: ChaosInput, step: number): number {
  const r = prng((input.seed ^ Math.imul(input.n + 1, 2_654_435_761) ^ Math.imul(step, 40_503)) >>> 0)();
  return Math.round(input.stepMs * (0.5 + r));
}
