// A scenario = one measurement, run the same way for every system through the Instance interface.
import type { BenchConfig } from '../config.js';
import type { ScenarioId, System } from '../systems/types.js';

export interface Metric {
  key: string;
  unit: string;
  better: 'higher' | 'lower';
  /** Shown as a Baton/peer ratio. @default true */
  compare?: boolean;
}

export interface RunResult {
  metrics: Record<string, number>;
  /** The run hit its time budget; metrics are partial (e.g. the rate over what finished). */
  timedOut?: boolean;
  notes?: string[];
  /** Scenario-specific detail kept in the JSON results (e.g. memory samples). */
  detail?: unknown;
}

export interface RunContext {
  config: BenchConfig;
  system: System;
  /** A fresh namespace for this run; the runner destroys it afterwards. */
  ns: string;
  /** `now()` value past which the run must stop and report timedOut. */
  deadline: number;
  warmup: boolean;
  log(message: string): void;
}

export interface Scenario {
  id: ScenarioId;
  title: string;
  /** The first metric is the headline one (ratios and targets use it unless said otherwise). */
  metrics: Metric[];
  /** Timed runs (the memory scenario runs once). */
  runs(config: BenchConfig): number;
  warmup: boolean;
  timeoutMs(config: BenchConfig): number;
  run(ctx: RunContext): Promise<RunResult>;
}
