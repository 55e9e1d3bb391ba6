// Handlers are looked up in a Map, never by property access on a plain object, so a task type
// such as "__proto__" or "constructor" cannot reach anything but a registered handler.
import type { RegisterOptions, TaskHandler } from './api.js';
import { isAgentClass, type AgentClass } from './base-agent.js';
import { ConfigError, ValidationError } from './errors.js';
import type { JsonValue } from './json.js';
import { validateQueueName, validateTaskType, validateText } from './names.js';
import { DEFAULT_QUEUE } from './ports/task-store.js';
import { compileRetryPolicy, type CompiledRetryPolicy } from './retry-policy.js';

export interface Registration {
  type: string;
  handler: TaskHandler<JsonValue, unknown, JsonValue>;
  version: string;
  queue: string;
  /** Set when the type has its own retry options (merged over the baton's). */
  retry: CompiledRetryPolicy | null;
}

/** Registration errors are mistakes in code, not in data: they are ConfigErrors. */
function config<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof ValidationError) throw new ConfigError(err.message);
    throw err;
  }
}

export class Registry {
  private readonly byType = new Map<string, Registration>();

  constructor(private readonly baseRetry: CompiledRetryPolicy) {}

  register<I, O, C>(type: string, target: TaskHandler<I, O, C> | AgentClass<I, O, C>, options: RegisterOptions = {}): Registration {
    config(() => validateTaskType(type));
    if (this.byType.has(type)) throw new ConfigError(`Task type "${type}" is already registered; register each type once.`);
    if (typeof target !== 'function') {
      throw new ConfigError(`baton.register("${type}", …) needs a handler function (input, ctx) => result or a BaseAgent subclass; got ${typeof target}.`);
    }
    if (options === null || typeof options !== 'object') throw new ConfigError(`Options of task type "${type}" must be an object { queue?, retry?, version? }.`);
    let handler: TaskHandler<JsonValue, unknown, JsonValue>;
    if (isAgentClass(target)) {
      const Agent = target as unknown as AgentClass;
      handler = (input, ctx) => {
        const agent = new Agent();
        agent.setContext(ctx);
        return agent.execute(input);
      };
    } else {
      handler = target as unknown as TaskHandler<JsonValue, unknown, JsonValue>;
    }
    const version = config(() => validateText(`Version of task type "${type}"`, options.version ?? 'v1', 100));
    const queue = options.queue === undefined ? DEFAULT_QUEUE : config(() => validateQueueName(options.queue, `Queue of task type "${type}"`));
    const registration: Registration = {
      type,
      handler,
      version,
      queue,
      retry: options.retry ? compileRetryPolicy(`retry of task type "${type}"`, options.retry, this.baseRetry) : null,
    };
    this.byType.set(type, registration);
    return registration;
  }

  get(type: string): Registration | undefined {
    return this.byType.get(type);
  }

  /** The queues of the registered types: what a worker claims from unless told otherwise. */
  queues(): string[] {
    return [...new Set([...this.byType.values()].map((r) => r.queue))];
  }

  get size(): number {
    return this.byType.size;
  }
}
