// Spans of Baton work, after the OpenTelemetry messaging semantic conventions: a PRODUCER span
// per enqueued task ("send <queue>"), whose W3C context is stored on the task; a CONSUMER span
// per run ("process <queue>") that links to that stored context — in whatever process the run
// happens, and after any crash, since every run reads it back from the task record. Checkpoint
// saves and heartbeats get child spans on request.
import {
  context,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Exception,
  type Link,
  type Span,
  type TextMapPropagator,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { Baton, CheckpointInfo, EnqueueInfo, EnqueueScope, HeartbeatInfo, HeartbeatScope, Instrumentation, RunInfo, RunOutcome, RunScope } from '@baton/core';
import { extractContext, injectContext } from './propagation.js';
import { VERSION } from './version.js';

export const INSTRUMENTATION_NAME = '@baton/otel';

export interface TracingOptions {
  /** @default the global tracer provider (a no-op until an SDK registers one) */
  tracerProvider?: TracerProvider;
  /** A child span per checkpoint write of a run. @default false */
  checkpointSpans?: boolean;
  /** A child span per lease extension of a run (one per task of each batched heartbeat). @default false */
  heartbeatSpans?: boolean;
  /**
   * 'producer': the run span is a child of the enqueue span, so one trace runs from the request
   * that enqueued into the worker (and is linked to it too). 'link': every run starts a trace of
   * its own, linked to the producer — for work that runs hours after it was enqueued, where one
   * trace spanning hours is unwieldy. @default 'producer'
   */
  runParent?: 'producer' | 'link';
  /** How the producer context is stored on the task. @default W3C traceparent/tracestate */
  propagator?: TextMapPropagator;
}

/** The API's no-op provider: what the global proxy delegates to until an SDK registers one. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

// Attribute objects are written as whole literals, never `{ ...common, more }`: on Node 20 an
// object spread followed by literal properties costs about a microsecond per property, which
// measured as most of the no-op overhead per task (see the README's overhead section).

// The scopes handed to core are class instances, not object literals of closures: one of each is
// made per task, and methods cost nothing per instance.

/** The producer spans of one enqueue call. */
class SendSpans implements EnqueueScope {
  readonly traceContext: (Record<string, string> | undefined)[];

  constructor(
    private readonly spans: Span[],
    propagator: TextMapPropagator | undefined,
  ) {
    this.traceContext = spans.map((s) => injectContext(s.spanContext(), propagator));
  }

  end(result: { error?: unknown; created?: readonly boolean[] }): void {
    const { error, created } = result;
    for (let i = 0; i < this.spans.length; i++) {
      const span = this.spans[i]!;
      if (error !== undefined) recordError(span, error);
      // The key mapped to an existing task: that task keeps its own producer context.
      else if (created?.[i] === false) span.setAttribute('baton.duplicate', true);
      span.end();
    }
  }
}

/** The consumer span of one run, and the context its handler runs in. */
class RunSpan implements RunScope {
  constructor(
    private readonly open: Map<string, RunSpan>,
    private readonly taskId: string,
    readonly span: Span,
    readonly ctx: Context,
  ) {}

  /** The handler runs with the run span active: its own spans (HTTP calls, queries) nest under it. */
  wrap<T>(fn: () => T): T {
    return context.with(this.ctx, fn);
  }

  end(outcome: RunOutcome): void {
    this.open.delete(this.taskId);
    endRun(this.span, outcome);
  }
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function toException(err: unknown): Exception {
  if (err instanceof Error) {
    const code = errorCode(err);
    return { name: err.name, message: err.message, ...(err.stack === undefined ? {} : { stack: err.stack }), ...(code === undefined ? {} : { code }) };
  }
  return String(err);
}

/** Records a failure on a span the way the semantic conventions ask: exception event, error.type, ERROR status. */
function recordError(span: Span, err: unknown): void {
  const code = errorCode(err);
  span.recordException(toException(err));
  span.setAttribute('error.type', code ?? (err instanceof Error ? err.name : '_OTHER'));
  if (code !== undefined) span.setAttribute('baton.error.code', code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

export class BatonTracing implements Instrumentation {
  private readonly tracer: Tracer;
  /** The run spans in progress in this process, by task id: parents of checkpoint and heartbeat spans. */
  private readonly open = new Map<string, RunSpan>();
  private readonly checkpointSpans: boolean;
  private readonly heartbeatSpans: boolean;
  private readonly runParent: 'producer' | 'link';
  private readonly propagator: TextMapPropagator | undefined;
  /** The global proxy provider, when no provider was given: checked per call, as an SDK may register later. */
  private readonly proxy: ProxyTracerProvider | null;

  constructor(options: TracingOptions = {}) {
    const provider = options.tracerProvider ?? trace.getTracerProvider();
    this.proxy = provider instanceof ProxyTracerProvider ? provider : null;
    // A ProxyTracer when no provider is given: spans go to whichever SDK registers later.
    this.tracer = provider.getTracer(INSTRUMENTATION_NAME, VERSION);
    this.checkpointSpans = options.checkpointSpans ?? false;
    this.heartbeatSpans = options.heartbeatSpans ?? false;
    this.runParent = options.runParent ?? 'producer';
    this.propagator = options.propagator;
  }

  enqueue(tasks: readonly EnqueueInfo[]): EnqueueScope | undefined {
    if (this.disabled()) return undefined;
    const parent = context.active();
    const spans = tasks.map((t) => {
      const attributes: Attributes = {
        'messaging.system': 'baton',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        // The pre-1.26 name, for backends and dashboards still keyed on it.
        'messaging.operation': 'publish',
        'messaging.destination.name': t.queue,
        'messaging.message.id': t.taskId,
        'baton.task.type': t.type,
      };
      if (tasks.length > 1) attributes['messaging.batch.message_count'] = tasks.length;
      return this.tracer.startSpan(`send ${t.queue}`, { kind: SpanKind.PRODUCER, attributes }, parent);
    });
    return new SendSpans(spans, this.propagator);
  }

  run(info: RunInfo): RunScope | undefined {
    if (this.disabled()) return undefined;
    const { task } = info;
    const producer = extractContext(task.traceContext, this.propagator);
    const links: Link[] = producer ? [{ context: producer }] : [];
    // Runs start from the claim loop: whatever context is active there is not the task's.
    const parent = producer && this.runParent === 'producer' ? trace.setSpanContext(ROOT_CONTEXT, producer) : ROOT_CONTEXT;
    const attributes: Attributes = {
      'messaging.system': 'baton',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': task.queue,
      'messaging.message.id': task.id,
      'baton.task.type': task.type,
      'baton.attempt': task.attempt,
      'baton.recoveries': task.recoveries,
      'baton.worker.id': info.workerId,
    };
    if (info.resumedFrom !== null) attributes['baton.resumed_from'] = info.resumedFrom;
    if (task.phaseId !== null) attributes['baton.phase.id'] = task.phaseId;
    if (task.runId !== null) attributes['baton.run.id'] = task.runId;
    const span = this.tracer.startSpan(`process ${task.queue}`, { kind: SpanKind.CONSUMER, links, attributes }, parent);
    const run = new RunSpan(this.open, task.id, span, trace.setSpan(parent, span));
    this.open.set(task.id, run);
    return run;
  }

  checkpoint(info: CheckpointInfo): { end(error?: unknown): void } | undefined {
    if (!this.checkpointSpans || this.disabled()) return undefined;
    const run = this.open.get(info.task.id);
    const span = this.tracer.startSpan(
      `checkpoint ${info.task.queue}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: { 'messaging.system': 'baton', 'messaging.message.id': info.task.id, 'baton.task.type': info.task.type, 'baton.checkpoint.token': info.token, 'baton.checkpoint.size_bytes': info.sizeBytes },
      },
      run?.ctx ?? ROOT_CONTEXT,
    );
    return {
      end: (error) => {
        if (error !== undefined) recordError(span, error);
        span.end();
      },
    };
  }

  /**
   * A child span of each run whose lease one batched heartbeat extends; a task whose lease had
   * moved on ends its span with LEASE_LOST.
   */
  heartbeat(info: HeartbeatInfo): HeartbeatScope | undefined {
    if (!this.heartbeatSpans) return undefined;
    const spans = new Map<string, Span>();
    for (const id of info.taskIds) {
      const run = this.open.get(id);
      if (run) spans.set(id, this.tracer.startSpan('heartbeat', { kind: SpanKind.INTERNAL, attributes: { 'messaging.system': 'baton', 'messaging.message.id': id, 'baton.worker.id': info.workerId } }, run.ctx));
    }
    return {
      end: ({ error, lost }) => {
        const gone = new Set(lost ?? []);
        for (const [id, span] of spans) {
          if (error !== undefined) recordError(span, error);
          else if (gone.has(id)) recordError(span, Object.assign(new Error('lease lost: another worker owns this task now'), { name: 'LeaseLostError', code: 'LEASE_LOST' }));
          span.end();
        }
      },
    };
  }

  /** Adds what only an event tells (core's outcome does not carry it): a scheduled retry's delay, on the run span in progress. */
  observe(baton: Pick<Baton, 'on'>): () => void {
    return baton.on('task.retry_scheduled', (e) => {
      const run = e.taskId === null ? undefined : this.open.get(e.taskId);
      if (typeof e.data.delayMs === 'number') run?.span.setAttribute('baton.retry.delay_ms', e.data.delayMs);
    });
  }

  /**
   * No SDK registered: every span would be a no-op and no context would be stored, so skip the
   * work altogether (no span objects, no attribute objects, no context switch around handlers).
   */
  private disabled(): boolean {
    return this.proxy !== null && this.proxy.getDelegate() === NOOP_PROVIDER;
  }
}

function endRun(span: Span, outcome: RunOutcome): void {
  switch (outcome.state) {
    case 'completed':
      // Instrumentation leaves a success UNSET (OK is the application's to set).
      span.setAttribute('baton.outcome', 'completed');
      break;
    case 'failed':
      span.setAttributes({ 'baton.outcome': outcome.willRetry ? 'retry' : 'dead', 'baton.will_retry': outcome.willRetry });
      recordError(span, outcome.error);
      break;
    case 'lease_lost':
      span.setAttributes({ 'baton.outcome': 'lease_lost', 'baton.error.code': 'LEASE_LOST', 'error.type': 'LEASE_LOST', 'baton.lease_lost.reason': outcome.reason });
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'lease lost: another worker owns this task now; this run\'s writes were refused' });
      break;
    case 'released':
      span.setAttributes({ 'baton.outcome': 'released', 'baton.release.reason': outcome.reason });
      break;
  }
  span.end();
}
