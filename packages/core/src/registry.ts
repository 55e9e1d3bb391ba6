// Handlers are looked up in a Map, never by property access on a plain object, so a task type
// such as "__proto__" or "constructor" cannot reach anything but a registered handler.
import type { RegisterOptions, TaskHandler } from './api.js';
import { isAgentClass, type AgentClass } from './base-agent.js';
import { ConfigError, ValidationError } from './errors.js';
import type { JsonValue } from './json.js';
import { RetryPolicy, type RetryPolicyOptions } from './retry-policy.js';

export interface Registration {
  type: string;
  handler: TaskHandler<JsonValue, unknown, JsonValue>;
  version: string;
  /** Set when the type has its own retry options. */
  retry: RetryPolicy | null;
}

export const MAX_TYPE_LENGTH = 200;

export function validateTaskType(type: unknown): string {
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_TYPE_LENGTH) {
    throw new ValidationError(`Task type must be a non-empty string of at most ${MAX_TYPE_LENGTH} characters; got ${JSON.stringify(type)}.`);
  }
  return type;
}

export class Registry {
  private readonly byType = new Map<string, Registration>();

  constructor(private readonly baseRetry: RetryPolicyOptions) {}

  register<I, O, C>(type: string, target: TaskHandler<I, O, C> | AgentClass<I, O, C>, options: RegisterOptions = {}): void {
    validateTaskType(type);
    if (this.byType.has(type)) throw new ConfigError(`Task type "${type}" is already registered; register each type once.`);
    if (typeof target !== 'function') {
      throw new ConfigError(`baton.register("${type}", …) needs a handler function (input, ctx) => result or a BaseAgent subclass.`);
    }
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
    const version = options.version ?? 'v1';
    if (typeof version !== 'string' || version.length === 0) throw new ConfigError(`Version of task type "${type}" must be a non-empty string.`);
    this.byType.set(type, {
      type,
      handler,
      version,
      retry: options.retry ? new RetryPolicy({ ...this.baseRetry, ...options.retry }) : null,
    });
  }

  get(type: string): Registration | undefined {
    return this.byType.get(type);
  }

  types(): string[] {
    return [...this.byType.keys()];
  }
}
