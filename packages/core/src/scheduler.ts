// Turns a phase plan into task specs: the phase budget split evenly across tasks (integer
// remainders to the first tasks), idempotency keys scoped to run and phase so re-scheduling a
// phase is harmless, optional sharding of large item lists, and a durable timebox.
import type { EnqueueResult, TaskSpec } from './api.js';
import type { JsonValue } from './json.js';
import type { Budget } from './ports/task-store.js';
import { ValidationError } from './errors.js';
import { generateKey } from './idempotency.js';
import { splitBudget, validateBudget } from './budget.js';

export interface PlannedTask {
  type: string;
  input: JsonValue;
  /** Version for the idempotency key. @default 'v1' */
  version?: string;
  maxRetries?: number;
  /** @default the type's registered queue */
  queue?: string;
  priority?: number;
  group?: string;
}

export interface PhasePlan {
  phaseId: string;
  tasks: PlannedTask[];
  /** Split evenly across the tasks. */
  budget?: Budget;
  /** Cancel whatever is unfinished this long after scheduling. */
  timeboxMs?: number;
}

export interface PhaseContext {
  runId: string;
}

export interface ScheduleResult {
  totalTasks: number;
  enqueuedTasks: number;
  duplicates: number;
  taskIds: string[];
  specs: TaskSpec[];
}

export interface SchedulerDeps {
  enqueueMany(specs: TaskSpec[]): Promise<EnqueueResult[]>;
  scheduleTimeout(phaseId: string, timeboxMs: number): Promise<unknown>;
  cancelPhase(phaseId: string): Promise<string[]>;
}

export class Scheduler {
  constructor(private readonly deps: SchedulerDeps) {}

  /** Task specs for a phase without enqueueing them. */
  plan(plan: PhasePlan, context: PhaseContext): TaskSpec[] {
    validatePlan(plan, context);
    const shares = splitBudget(plan.budget, plan.tasks.length);
    return plan.tasks.map((t, i) => ({
      type: t.type,
      input: t.input,
      runId: context.runId,
      phaseId: plan.phaseId,
      key: generateKey(t.type, { runId: context.runId, phaseId: plan.phaseId, index: i, input: t.input }, t.version ?? 'v1'),
      ...(shares[i] ? { budget: shares[i] } : {}),
      ...(t.maxRetries === undefined ? {} : { maxRetries: t.maxRetries }),
      ...(t.queue === undefined ? {} : { queue: t.queue }),
      ...(t.priority === undefined ? {} : { priority: t.priority }),
      ...(t.group === undefined ? {} : { group: t.group }),
    }));
  }

  /** Enqueues the phase's tasks (idempotently) and arms its timebox. */
  async schedule(plan: PhasePlan, context: PhaseContext): Promise<ScheduleResult> {
    const specs = this.plan(plan, context);
    const results = specs.length > 0 ? await this.deps.enqueueMany(specs) : [];
    if (plan.timeboxMs !== undefined) await this.deps.scheduleTimeout(plan.phaseId, plan.timeboxMs);
    const duplicates = results.filter((r) => r.duplicate).length;
    return { totalTasks: specs.length, enqueuedTasks: results.length - duplicates, duplicates, taskIds: results.map((r) => r.taskId), specs };
  }

  /**
   * Splits a task whose input has an `items` array into shards of at most `itemsPerShard` items,
   * each `{ ...input, items, shard: { index, count } }`, with the budget split across shards.
   */
  shardTask(spec: TaskSpec, itemsPerShard: number): TaskSpec[] {
    if (!Number.isInteger(itemsPerShard) || itemsPerShard < 1) {
      throw new ValidationError(`itemsPerShard must be an integer ≥ 1; got ${itemsPerShard}.`);
    }
    const input = spec.input;
    if (input === null || typeof input !== 'object' || Array.isArray(input) || !Array.isArray(input.items)) {
      throw new ValidationError(`shardTask needs a task whose input is an object with an "items" array (task type "${spec.type}").`);
    }
    const items = input.items;
    const count = Math.max(1, Math.ceil(items.length / itemsPerShard));
    const shares = splitBudget(spec.budget, count);
    return Array.from({ length: count }, (_, index) => {
      const shardInput = { ...input, items: items.slice(index * itemsPerShard, (index + 1) * itemsPerShard), shard: { index, count } };
      const { key: _key, budget: _budget, ...rest } = spec;
      return {
        ...rest,
        input: shardInput,
        ...(spec.key ? { key: `${spec.key}:shard:${index}/${count}` } : {}),
        ...(shares[index] ? { budget: shares[index] } : {}),
      };
    });
  }

  cancelPhase(phaseId: string): Promise<string[]> {
    return this.deps.cancelPhase(phaseId);
  }
}

function validatePlan(plan: PhasePlan, context: PhaseContext): void {
  if (!plan || typeof plan.phaseId !== 'string' || plan.phaseId.length === 0) throw new ValidationError('A phase plan needs a non-empty phaseId.');
  if (!Array.isArray(plan.tasks)) throw new ValidationError(`Phase ${plan.phaseId}: tasks must be an array.`);
  if (!context || typeof context.runId !== 'string' || context.runId.length === 0) throw new ValidationError('A phase context needs a non-empty runId.');
  validateBudget(`phase ${plan.phaseId}`, plan.budget);
}
