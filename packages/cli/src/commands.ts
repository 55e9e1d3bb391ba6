// The commands: each reads its flags, calls the baton's admin API (nothing backend-specific), and
// prints a table (or JSON with --json).
import { TASK_STATES, ValidationError, type StoredEvent, type TaskFilterInput, type TaskRecord, type TaskState, type EventType } from '@baton/core';
import { EXIT, confirm, type Command, type CommandContext } from './command.js';
import { ago, clean, human, isoTime, parseDuration, parseTime, table } from './format.js';

const FILTER_OPTIONS = {
  state: { type: 'string' },
  type: { type: 'string' },
  queue: { type: 'string' },
  run: { type: 'string' },
  phase: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
} as const;

function str(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === 'string' ? v : undefined;
}

function limitFlag(ctx: CommandContext, fallback: number | undefined): number | undefined {
  const v = str(ctx, 'limit');
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ValidationError(`--limit must be a whole number; got "${clean(v, 20)}".`);
  return n;
}

function states(text: string): TaskState[] {
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) if (!TASK_STATES.includes(s as TaskState)) throw new ValidationError(`--state: unknown state "${clean(s, 30)}"; one of ${TASK_STATES.join(', ')}.`);
  return list as TaskState[];
}

function filterFrom(ctx: CommandContext, defaultStates?: TaskState[]): TaskFilterInput {
  const f: TaskFilterInput = {};
  const st = str(ctx, 'state');
  if (st !== undefined) f.state = states(st);
  else if (defaultStates) f.state = defaultStates;
  const type = str(ctx, 'type');
  if (type !== undefined) f.type = type;
  const queue = str(ctx, 'queue');
  if (queue !== undefined) f.queue = queue;
  const run = str(ctx, 'run');
  if (run !== undefined) f.runId = run;
  const phase = str(ctx, 'phase');
  if (phase !== undefined) f.phaseId = phase;
  const since = str(ctx, 'since');
  if (since !== undefined) f.since = parseTime(since, '--since', ctx.now);
  const until = str(ctx, 'until');
  if (until !== undefined) f.until = parseTime(until, '--until', ctx.now);
  return f;
}

function hasFilter(ctx: CommandContext): boolean {
  return Object.keys(FILTER_OPTIONS).some((k) => k !== 'limit' && ctx.flags[k] !== undefined);
}

function describeFilter(f: TaskFilterInput): string {
  const parts = Object.entries(f).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : typeof v === 'number' && (k === 'since' || k === 'until') ? isoTime(v) : String(v)}`);
  return parts.length === 0 ? 'all' : parts.join(' ');
}

function print(ctx: CommandContext, json: unknown, human: () => string): void {
  ctx.io.out(ctx.json ? JSON.stringify(json, null, 2) : human());
}

function stateColor(ctx: CommandContext, state: string): string {
  if (state === 'dead') return ctx.s.red(state);
  if (state === 'completed') return ctx.s.green(state);
  if (state === 'running') return ctx.s.yellow(state);
  return state;
}

function taskRow(ctx: CommandContext, t: TaskRecord): string[] {
  return [
    t.id,
    clean(t.type, 30),
    t.queue,
    stateColor(ctx, t.state),
    String(t.attempt),
    String(t.recoveries),
    ago(t.createdAt, ctx.now),
    t.error ? clean(`${t.error.code ?? t.error.name}: ${t.error.message}`, 60) : '',
  ];
}

const stats: Command = {
  options: { by: { type: 'string' } },
  async run(ctx) {
    const by = (str(ctx, 'by') ?? 'queue') as 'queue' | 'type' | 'phase';
    const groups = await ctx.baton.admin.stats({ by });
    print(ctx, groups, () =>
      groups.length === 0
        ? 'No tasks.'
        : table(
            [by, ...TASK_STATES, 'oldest waiting', 'past lease', ...(by === 'queue' ? ['paused'] : [])],
            groups.map((g) => [
              g.key === null ? '(none)' : clean(g.key, 40),
              ...TASK_STATES.map((st) => String(g.counts[st])),
              human(g.oldestWaitingMs),
              g.runningPastLease > 0 ? ctx.s.red(String(g.runningPastLease)) : '0',
              ...(by === 'queue' ? [g.paused ? ctx.s.yellow('paused') : ''] : []),
            ]),
            ctx.s,
          ),
    );
    return EXIT.ok;
  },
};

const queues: Command = {
  options: {},
  async run(ctx) {
    const list = await ctx.baton.queues.list();
    print(ctx, list, () =>
      list.length === 0
        ? 'No queues yet.'
        : table(
            ['queue', 'paused', 'concurrency', 'rate limit', 'group cap', 'ready', 'leased', 'expired', 'delayed'],
            list.map((q) => [
              q.name,
              q.paused ? ctx.s.yellow('yes') : 'no',
              q.concurrency === null ? '-' : String(q.concurrency),
              q.rateLimit === null ? '-' : `${q.rateLimit.max}/${human(q.rateLimit.perMs)}`,
              q.groupConcurrency === null ? '-' : String(q.groupConcurrency),
              String(q.depth.ready),
              String(q.depth.leased),
              q.depth.expired > 0 ? ctx.s.red(String(q.depth.expired)) : '0',
              String(q.depth.delayed),
            ]),
            ctx.s,
          ),
    );
    return EXIT.ok;
  },
};

const ls: Command = {
  options: { ...FILTER_OPTIONS, cursor: { type: 'string' } },
  async run(ctx) {
    const page = await ctx.baton.admin.listTasks(filterFrom(ctx), { limit: limitFlag(ctx, 50), cursor: str(ctx, 'cursor') ?? null });
    print(ctx, page, () => {
      if (page.tasks.length === 0) return 'No tasks match.';
      const out = table(['id', 'type', 'queue', 'state', 'attempt', 'recov', 'created', 'error'], page.tasks.map((t) => taskRow(ctx, t)), ctx.s);
      return page.cursor ? `${out}\n${ctx.s.dim(`next page: --cursor ${page.cursor}`)}` : out;
    });
    return EXIT.ok;
  },
};

function eventLine(ctx: CommandContext, e: StoredEvent): string {
  const data = Object.keys(e.data).length === 0 ? '' : clean(JSON.stringify(e.data), 100);
  const who = e.workerId ? ctx.s.dim(` on ${clean(e.workerId, 40)}`) : '';
  const type = e.type === 'task.dead' || e.type === 'task.lease_lost' || e.type === 'task.corrupt' ? ctx.s.red(e.type) : e.type;
  return `${isoTime(e.at)}  #${e.seq}  ${type}${e.taskId && !ctx.flags.task ? ` ${e.taskId}` : ''}${who}  ${data}`;
}

const show: Command = {
  options: { 'no-events': { type: 'boolean' }, 'no-checkpoint': { type: 'boolean' } },
  async run(ctx) {
    const id = ctx.args[0];
    if (!id) throw new ValidationError('show needs a task id: baton show <task-id>.');
    const d = await ctx.baton.admin.getTask(id, { checkpoint: !ctx.flags['no-checkpoint'], events: !ctx.flags['no-events'] });
    print(ctx, d, () => {
      const t = d.task;
      const lines = [
        `${ctx.s.bold(t.id)}  ${stateColor(ctx, t.state)}`,
        `type ${clean(t.type, 60)} · queue ${t.queue} · priority ${t.priority}${t.group ? ` · group ${clean(t.group, 40)}` : ''}`,
        `attempt ${t.attempt} of ${t.maxRetries + 1} · recoveries ${t.recoveries}${t.workerId ? ` · running on ${clean(t.workerId, 60)}` : ''}`,
        `created ${isoTime(t.createdAt)} · updated ${isoTime(t.updatedAt)} · started ${isoTime(t.startedAt)} · finished ${isoTime(t.finishedAt)}`,
        `usage $${t.usage.costUsd.toFixed(4)} · ${t.usage.tokens} tokens${t.budget ? ` (budget ${clean(JSON.stringify(t.budget), 80)})` : ''}${t.progress !== null ? ` · progress ${clean(JSON.stringify(t.progress), 60)}` : ''}`,
        `input ${clean(JSON.stringify(t.input), 200)}`,
      ];
      if (t.result !== null) lines.push(`result ${clean(JSON.stringify(t.result), 200)}`);
      if (t.error) lines.push(ctx.s.red(`error ${t.error.code ?? t.error.name}: ${clean(t.error.message, 300)}`));
      if (t.corruption) lines.push(ctx.s.red(`corrupt ${t.corruption.field}: ${clean(t.corruption.reason, 120)} · raw ${clean(t.corruption.raw, 120)}`));
      if (d.checkpoint !== undefined) {
        lines.push(
          d.checkpoint === null
            ? 'checkpoint none'
            : `checkpoint "${clean(d.checkpoint.token, 60)}" · ${d.checkpoint.sizeBytes} B (${d.checkpoint.encoding}, ${d.checkpoint.storedBytes} B stored) · saved ${isoTime(d.checkpoint.updatedAt)}${d.checkpoint.error ? ctx.s.red(` · ${d.checkpoint.error}`) : ` · ${clean(JSON.stringify(d.checkpoint.data), 120)}`}`,
        );
      }
      if (d.events) lines.push('', ctx.s.bold('events'), ...d.events.map((e) => eventLine({ ...ctx, flags: { ...ctx.flags, task: id } }, e)));
      return lines.join('\n');
    });
    return EXIT.ok;
  },
};

const retry: Command = {
  options: { ...FILTER_OPTIONS, 'reset-attempts': { type: 'boolean' } },
  async run(ctx) {
    const resetAttempts = ctx.flags['reset-attempts'] === true;
    const id = ctx.args[0];
    if (id !== undefined) {
      if (hasFilter(ctx)) throw new ValidationError('retry takes a task id or filters, not both.');
      const t = await ctx.baton.admin.retry(id, { resetAttempts });
      print(ctx, t, () => `retried ${t.id}: ${t.state} in queue ${t.queue}`);
      return EXIT.ok;
    }
    if (!hasFilter(ctx)) throw new ValidationError('retry needs a task id or filters (e.g. --state dead --type report).');
    const filter = filterFrom(ctx, ['dead']);
    const limit = limitFlag(ctx, undefined);
    const n = await ctx.baton.admin.purge(filter, { dryRun: true, ...(limit === undefined ? {} : { limit }) }).catch(() => null);
    if (!(await confirm(ctx, `Retry ${n ?? 'the'} finished task(s) matching ${describeFilter(filter)}?`))) return EXIT.declined;
    const done = await ctx.baton.admin.retryMany(filter, { resetAttempts, ...(limit === undefined ? {} : { limit }) });
    print(ctx, { retried: done }, () => `retried ${done} task(s)`);
    return EXIT.ok;
  },
};

const cancel: Command = {
  options: { ...FILTER_OPTIONS },
  async run(ctx) {
    const id = ctx.args[0];
    if (id !== undefined) {
      if (hasFilter(ctx)) throw new ValidationError('cancel takes a task id or filters, not both.');
      const ok = await ctx.baton.admin.cancel(id);
      if (!ok) {
        const t = await ctx.baton.admin.getTask(id);
        ctx.io.err(`baton: task ${id} is ${t.task.state}; only pending, running or scheduled tasks can be cancelled.`);
        return EXIT.failed;
      }
      print(ctx, { cancelled: id }, () => `cancelled ${id}`);
      return EXIT.ok;
    }
    if (!hasFilter(ctx)) throw new ValidationError('cancel needs a task id or filters (e.g. --state pending --queue pdf).');
    const filter = filterFrom(ctx, ['pending', 'running', 'scheduled']);
    const limit = limitFlag(ctx, undefined);
    const page = await ctx.baton.admin.listTasks(filter, { limit: 1_000 });
    const count = page.cursor ? 'over 1000' : String(page.tasks.length);
    if (!(await confirm(ctx, `Cancel ${count} unfinished task(s) matching ${describeFilter(filter)}?`))) return EXIT.declined;
    const done = await ctx.baton.admin.cancelMany(filter, limit === undefined ? {} : { limit });
    print(ctx, { cancelled: done }, () => `cancelled ${done} task(s)`);
    return EXIT.ok;
  },
};

function queueCommand(pause: boolean): Command {
  return {
    options: {},
    async run(ctx) {
      const q = ctx.args[0];
      if (!q) throw new ValidationError(`${pause ? 'pause' : 'resume'} needs a queue name.`);
      const settings = pause ? await ctx.baton.queues.pause(q) : await ctx.baton.queues.resume(q);
      print(ctx, { queue: q, ...settings }, () => `${q}: ${settings.paused ? 'paused' : 'running'}`);
      return EXIT.ok;
    },
  };
}

/** How long an event may trail one with a higher seq (out-of-order commits), for `tail`. */
const LOOKBACK_MS = 2_000;

const tail: Command = {
  options: { type: { type: 'string' }, task: { type: 'string' }, run: { type: 'string' }, phase: { type: 'string' }, since: { type: 'string' }, 'poll-ms': { type: 'string' } },
  async run(ctx) {
    const types = str(ctx, 'type')?.split(',').map((t) => t.trim()).filter(Boolean) as EventType[] | undefined;
    const query = {
      ...(types ? { type: types } : {}),
      ...(str(ctx, 'task') ? { taskId: str(ctx, 'task')! } : {}),
      ...(str(ctx, 'run') ? { runId: str(ctx, 'run')! } : {}),
      ...(str(ctx, 'phase') ? { phaseId: str(ctx, 'phase')! } : {}),
    };
    const pollMs = str(ctx, 'poll-ms') === undefined ? 500 : parseDuration(`${str(ctx, 'poll-ms')}ms`, '--poll-ms');
    // Start at the end of the log (or --since back): find the newest seq first.
    const since = str(ctx, 'since') === undefined ? ctx.now : parseTime(str(ctx, 'since')!, '--since', ctx.now);
    let after = 0;
    for (;;) {
      const page = await ctx.baton.queryEvents({ after, limit: 1_000 });
      if (page.length === 0) break;
      const older = page.filter((e) => e.at < since);
      if (older.length === 0) break;
      after = older.at(-1)!.seq;
      if (older.length < page.length) break;
    }
    let stopped = false;
    void ctx.io.interrupted().then(() => (stopped = true));
    // On stderr, so --json output stays clean; scripts can wait for it before producing events.
    ctx.io.err(ctx.s.dim(`following ${ctx.spec.display} — Ctrl-C to stop`));
    // Writers commit out of seq order (seq is taken at insert): an event can appear a moment after
    // one with a higher seq. So each read starts below the events seen in the last LOOKBACK_MS,
    // and what was already printed is skipped.
    const seen = new Map<number, number>();
    let watermark = after;
    while (!stopped) {
      let page: StoredEvent[];
      let from = watermark;
      do {
        page = await ctx.baton.queryEvents({ ...query, after: from, limit: 1_000 });
        const now = Date.now();
        for (const e of page) {
          if (seen.has(e.seq)) continue;
          seen.set(e.seq, now);
          ctx.io.out(ctx.json ? JSON.stringify(e) : eventLine(ctx, e));
        }
        if (page.length > 0) from = page.at(-1)!.seq;
      } while (page.length === 1_000 && !stopped);
      const settled = Date.now() - LOOKBACK_MS;
      for (const [seq, observed] of seen) {
        if (observed >= settled) continue;
        if (seq > watermark) watermark = seq;
      }
      for (const seq of seen.keys()) if (seq <= watermark) seen.delete(seq);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    return EXIT.ok;
  },
};

const purge: Command = {
  options: { 'older-than': { type: 'string' }, state: { type: 'string' }, type: { type: 'string' }, queue: { type: 'string' }, 'dry-run': { type: 'boolean' }, limit: { type: 'string' } },
  async run(ctx) {
    const age = str(ctx, 'older-than');
    if (age === undefined) throw new ValidationError('purge needs --older-than (e.g. 7d): it deletes finished tasks created before then.');
    const filter: TaskFilterInput = { ...filterFrom(ctx, ['completed', 'dead', 'cancelled']), until: ctx.now - parseDuration(age, '--older-than') };
    const limit = limitFlag(ctx, undefined);
    const n = await ctx.baton.admin.purge(filter, { dryRun: true, ...(limit === undefined ? {} : { limit }) });
    if (ctx.flags['dry-run']) {
      print(ctx, { wouldDelete: n }, () => `would delete ${n} finished task(s) matching ${describeFilter(filter)}`);
      return EXIT.ok;
    }
    if (n === 0) {
      print(ctx, { deleted: 0 }, () => 'nothing to delete');
      return EXIT.ok;
    }
    if (!(await confirm(ctx, `Delete ${n} finished task(s) matching ${describeFilter(filter)}, with their checkpoints?`))) return EXIT.declined;
    const deleted = await ctx.baton.admin.purge(filter, limit === undefined ? {} : { limit });
    print(ctx, { deleted }, () => `deleted ${deleted} task(s)`);
    return EXIT.ok;
  },
};

const migrate: Command = {
  options: {},
  migrate: true,
  async run(ctx) {
    if (ctx.spec.kind === 'redis' || ctx.spec.kind === 'nats') {
      ctx.io.out(`${ctx.spec.kind} has no schema to migrate: its keys and streams are created on first use.`);
      return EXIT.ok;
    }
    print(ctx, { migrated: true, backend: ctx.spec.display }, () => `${ctx.spec.display}: schema is up to date`);
    return EXIT.ok;
  },
};

export const COMMANDS: Record<string, Command> = {
  stats,
  queues,
  ls,
  show,
  retry,
  cancel,
  pause: queueCommand(true),
  resume: queueCommand(false),
  tail,
  purge,
  migrate,
};
