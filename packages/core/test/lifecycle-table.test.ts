// The lifecycle table users read (README and docs/semantics.md) says what task-transitions.ts
// does: each row is replayed through the transition it names and every column is checked.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as transitions from '../src/task-transitions.js';
import type { NewTask, StoredError, TaskRecord } from '../src/ports/task-store.js';

const read = (path: string) => readFileSync(fileURLToPath(new URL(`../../../${path}`, import.meta.url)), 'utf8');

/** The rows of the first markdown table whose header starts with `| change |`, by change. */
function lifecycleTable(markdown: string): Map<string, Map<string, string>> {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.startsWith('| change |'));
  expect(start, 'the lifecycle table').toBeGreaterThanOrEqual(0);
  const cells = (l: string) => l.split('|').slice(1, -1).map((c) => c.trim().replace(/\*\*/g, ''));
  const header = cells(lines[start]!);
  const rows = new Map<string, Map<string, string>>();
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const row = cells(line);
    rows.set(row[0]!, new Map(header.map((h, i) => [h, row[i]!])));
  }
  return rows;
}

const NOW = 1_000_000;
const failure: StoredError = { name: 'Error', message: 'boom', code: null, stack: null };
const spec: NewTask = { id: 't1', type: 'x', queue: 'default', priority: 0, group: null, input: {}, idempotencyKey: 'k', keyTtlMs: 1000, runId: null, phaseId: null, maxRetries: 3, budget: null, traceContext: null };
const running: TaskRecord = {
  ...transitions.createRecord(spec, 10),
  state: 'running',
  leaseId: 'L1',
  workerId: 'w1',
  attempt: 1,
  recoveries: 2,
  error: { ...failure, message: 'earlier' },
  progress: { done: 1 },
  durationMs: 7,
  startedAt: 20,
  heartbeatAt: 30,
};
const dead: TaskRecord = { ...running, state: 'dead', leaseId: null, workerId: null, heartbeatAt: null, result: 'r0', finishedAt: 40 };

/** What each row's change does, from which record (`before`), with the values its words name. */
const CHANGES: Record<string, () => { before: TaskRecord | null; after: TaskRecord; named: Record<string, unknown> }[]> = {
  create: () => [{ before: null, after: transitions.createRecord(spec, NOW), named: {} }],
  start: () => [{ before: { ...dead, state: 'pending' }, after: transitions.start({ ...dead, state: 'pending' }, 'L2', 'w2', NOW)!, named: { "the claim's": ['L2', 'w2'] } }],
  complete: () => [{ before: running, after: transitions.finish(running, { taskId: 't1', leaseId: 'L1', state: 'completed', result: 'R', durationMs: 5 }, NOW)!, named: { 'the result': 'R', "the run's": 5 } }],
  'fail, retry left': () => [{ before: running, after: transitions.finish(running, { taskId: 't1', leaseId: 'L1', state: 'scheduled', error: failure, durationMs: 5 }, NOW)!, named: { 'the failure': failure, "the run's": 5 } }],
  'fail, no retry left / permanent': () => [{ before: running, after: transitions.finish(running, { taskId: 't1', leaseId: 'L1', state: 'dead', error: failure, durationMs: 5 }, NOW)!, named: { 'the failure': failure, "the run's": 5 } }],
  'release (shutdown, breaker, unknown type)': () => [{ before: running, after: transitions.finish(running, { taskId: 't1', leaseId: 'L1', state: 'pending' }, NOW)!, named: {} }],
  recover: () => [{ before: running, after: transitions.recover(running, 'L1', 10, failure, NOW)!, named: {} }],
  'recover past maxRecoveries': () => {
    const poison = transitions.poisonPillError('t1', 11, 10);
    const before = { ...running, recoveries: 10 };
    return [{ before, after: transitions.recover(before, 'L1', 10, poison, NOW)!, named: { POISON_PILL: poison } }];
  },
  cancel: () => {
    const cancelled: StoredError = { name: 'CancelledError', message: 'cancelled', code: 'CANCELLED', stack: null };
    return [{ before: running, after: transitions.transition(running, ['pending', 'running', 'scheduled'], 'cancelled', NOW, cancelled)!, named: { CANCELLED: cancelled } }];
  },
  'operator retry': () => [
    { before: dead, after: transitions.retry(dead, true, NOW)!, named: { reset: true } },
    { before: dead, after: transitions.retry(dead, false, NOW)!, named: { reset: false } },
  ],
  'quarantine (undecodable record)': () => {
    const corruption = { field: 'input', reason: 'not JSON', raw: '{' };
    const after = transitions.quarantine(running, corruption, NOW);
    return [{ before: running, after, named: { CORRUPT_RECORD: after.error } }];
  },
};

const FIELDS: Record<string, (keyof TaskRecord)[]> = {
  state: ['state'],
  'leaseId, workerId': ['leaseId', 'workerId'],
  attempt: ['attempt'],
  recoveries: ['recoveries'],
  error: ['error'],
  result: ['result'],
  progress: ['progress'],
  durationMs: ['durationMs'],
  startedAt: ['startedAt'],
  heartbeatAt: ['heartbeatAt'],
  finishedAt: ['finishedAt'],
};

/** The value a table cell stands for, given the record before the change. */
function expected(cell: string, field: keyof TaskRecord, i: number, before: TaskRecord | null, named: Record<string, unknown>): unknown {
  if (cell === 'null') return null;
  if (cell === 'now') return NOW;
  if (cell === '0') return 0;
  if (cell === '=') return before![field];
  if (cell === '+ 1') return (before![field] as number) + 1;
  if (cell === '0 if reset, else =') return named.reset === true ? 0 : before![field];
  if (/^[a-z]+$/.test(cell) && field === 'state') return cell;
  if (!(cell in named)) throw new Error(`the table cell "${cell}" (${field}) means nothing this test knows`);
  const v = named[cell];
  return Array.isArray(v) ? v[i] : v;
}

describe('the lifecycle table', () => {
  const readme = lifecycleTable(read('README.md'));
  const semantics = lifecycleTable(read('docs/semantics.md'));

  it('is the same in the README and docs/semantics.md, and covers every change', () => {
    expect([...readme].map(([k, v]) => [k, [...v]])).toEqual([...semantics].map(([k, v]) => [k, [...v]]));
    expect([...readme.keys()].sort()).toEqual(Object.keys(CHANGES).sort());
  });

  for (const [change, cases] of Object.entries(CHANGES)) {
    it(`says what ${change} writes`, () => {
      const row = readme.get(change)!;
      for (const { before, after, named } of cases()) {
        for (const [column, fields] of Object.entries(FIELDS)) {
          fields.forEach((field, i) => {
            expect(after[field], `${change} / ${column} / ${field}`).toEqual(expected(row.get(column)!, field, i, before, named));
          });
        }
        expect(after.updatedAt, `${change} / updatedAt`).toBe(NOW);
      }
    });
  }
});

describe('the in-place forms of start and finish', () => {
  const outcomes = [
    { taskId: 't1', leaseId: 'L1', state: 'completed' as const, result: 'R', durationMs: 5 },
    { taskId: 't1', leaseId: 'L1', state: 'scheduled' as const, error: failure, durationMs: 5 },
    { taskId: 't1', leaseId: 'L1', state: 'dead' as const, error: failure },
    { taskId: 't1', leaseId: 'L1', state: 'pending' as const },
  ];

  it('write into the record exactly what the copying forms return', () => {
    const pending = { ...dead, state: 'pending' as const };
    const started = { ...pending };
    expect(transitions.startInPlace(started, 'L2', 'w2', NOW)).toBe(true);
    expect(started).toEqual(transitions.start(pending, 'L2', 'w2', NOW));
    for (const o of outcomes) {
      const finished = { ...running };
      expect(transitions.finishInPlace(finished, o, NOW)).toBe(true);
      expect(finished, o.state).toEqual(transitions.finish(running, o, NOW));
    }
  });

  it('leave the record untouched where the change does not apply', () => {
    const notPending = { ...running };
    expect(transitions.startInPlace(notPending, 'L2', 'w2', NOW)).toBe(false);
    expect(notPending).toEqual(running);
    const otherLease = { ...running };
    expect(transitions.finishInPlace(otherLease, { ...outcomes[0]!, leaseId: 'stale' }, NOW)).toBe(false);
    expect(otherLease).toEqual(running);
  });
});
