// Turns what a user passes to enqueue into the NewTask a store writes: every field validated
// and bounded here, before any port call, so a bad spec is refused with a ValidationError and
// nothing of its batch is stored.
import type { TaskSpec } from './api.js';
import { validateBudget } from './budget.js';
import { ValidationError } from './errors.js';
import { generateKey, newId } from './idempotency.js';
import { copyJson } from './json.js';
import { MAX_ID_LENGTH, validateQueueName, validateTaskType, validateText, MAX_GROUP_LENGTH } from './names.js';
import { describe } from './option-helpers.js';
import { MAX_DURATION_MS, type CompiledOptions } from './options.js';
import { DEFAULT_QUEUE, MAX_PRIORITY, MIN_PRIORITY, type NewTask } from './ports/task-store.js';
import type { Registry } from './registry.js';

export const MAX_KEY_LENGTH = 512;
export const MAX_VERSION_LENGTH = 100;

export interface PreparedTask {
  task: NewTask;
  delayMs: number;
}

function optionalText(field: string, v: unknown, max: number): string | null {
  return v === undefined || v === null ? null : validateText(field, v, max);
}

function duration(field: string, type: string, v: unknown, fallback: number, min: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > MAX_DURATION_MS) {
    throw new ValidationError(`${field} of task "${type}" must be a number of ms from ${min} to ${MAX_DURATION_MS} (365 days); got ${describe(v)}.`);
  }
  return Math.round(v);
}

export function prepareTask(spec: TaskSpec, options: CompiledOptions, registry: Registry): PreparedTask {
  if (spec === null || typeof spec !== 'object') throw new ValidationError('Each task spec must be an object { type, input, ...options }.');
  const type = validateTaskType(spec.type);
  const limits = { maxBytes: options.maxPayloadBytes, maxDepth: options.maxPayloadDepth };
  const input = copyJson(spec.input, `Input of task "${type}"`, limits);
  const reg = registry.get(type);
  const version = spec.version ?? reg?.version ?? 'v1';
  if (typeof version !== 'string') throw new ValidationError(`version of task "${type}" must be a string; got ${describe(version)}.`);
  validateText(`version of task "${type}"`, version, MAX_VERSION_LENGTH);
  const key = spec.key ?? generateKey(type, input, version);
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new ValidationError(`Idempotency key of task "${type}" must be a non-empty string of at most ${MAX_KEY_LENGTH} characters; got ${describe(key)}.`);
  }
  validateText(`Idempotency key of task "${type}"`, key, MAX_KEY_LENGTH);
  const priority = spec.priority ?? 0;
  if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < MIN_PRIORITY || priority > MAX_PRIORITY) {
    throw new ValidationError(`priority of task "${type}" must be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}; got ${describe(priority)}.`);
  }
  const maxRetries = spec.maxRetries ?? reg?.retry?.maxRetries ?? options.retry.maxRetries;
  if (typeof maxRetries !== 'number' || !Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 1_000_000) {
    throw new ValidationError(`maxRetries of task "${type}" must be an integer from 0 to 1000000; got ${describe(maxRetries)}.`);
  }
  return {
    task: {
      id: newId(),
      type,
      queue: spec.queue === undefined ? (reg?.queue ?? DEFAULT_QUEUE) : validateQueueName(spec.queue, `queue of task "${type}"`),
      priority,
      group: optionalText(`group of task "${type}"`, spec.group, MAX_GROUP_LENGTH),
      input,
      idempotencyKey: key,
      keyTtlMs: duration('keyTtlMs', type, spec.keyTtlMs, options.idempotencyKeyTtlMs, 1),
      runId: optionalText('runId', spec.runId, MAX_ID_LENGTH),
      phaseId: optionalText('phaseId', spec.phaseId, MAX_ID_LENGTH),
      maxRetries,
      budget: validateBudget(`task "${type}"`, spec.budget),
      traceContext: null,
    },
    delayMs: duration('delayMs', type, spec.delayMs, 0, 0),
  };
}
