// The agent base class: a handler written as a class with checkpoint helpers.
import type { JsonValue } from './json.js';
import type { Checkpoint, SaveCheckpointOptions, TaskContext } from './api.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';

export type CheckpointCallback<C> = (token: string, data: C, options?: SaveCheckpointOptions) => Promise<void>;

export abstract class BaseAgent<I = JsonValue, O = JsonValue, C = JsonValue> {
  private checkpointCallback: CheckpointCallback<C> | null = null;
  private context: TaskContext<C> | null = null;

  abstract execute(input: I): Promise<O>;

  /** Set by the worker before `execute`; tests may set their own. */
  setCheckpointCallback(callback: CheckpointCallback<C> | null): void {
    this.checkpointCallback = callback;
  }

  /** Set by the worker before `execute`. */
  setContext(context: TaskContext<C>): void {
    this.context = context;
    this.checkpointCallback ??= (token, data, options) => context.saveCheckpoint(token, data, options);
  }

  /** Saves progress; throttled to one write per checkpoint interval unless `{ flush: true }`. */
  protected async saveCheckpoint(token: string, data: C, options?: SaveCheckpointOptions): Promise<void> {
    if (!this.checkpointCallback) return;
    await this.checkpointCallback(token, data, options);
  }

  /** The token of the checkpoint this run resumes from, or null on a fresh start. (`input` is accepted and ignored, as in the original agent API.) */
  protected getCheckpointToken(_input?: unknown): string | null {
    return this.context?.checkpoint?.token ?? null;
  }

  protected getCheckpointData(_input?: unknown): C | null {
    return this.context?.checkpoint?.data ?? null;
  }

  protected get checkpoint(): Checkpoint<C> | null {
    return this.context?.checkpoint ?? null;
  }

  protected get ctx(): TaskContext<C> | null {
    return this.context;
  }

  protected get signal(): AbortSignal | undefined {
    return this.context?.signal;
  }

  protected get logger(): Logger {
    return this.context?.logger ?? silentLogger;
  }
}

export type AgentClass<I = JsonValue, O = JsonValue, C = JsonValue> = new () => BaseAgent<I, O, C>;

export function isAgentClass(value: unknown): value is AgentClass {
  return typeof value === 'function' && value.prototype instanceof BaseAgent;
}
