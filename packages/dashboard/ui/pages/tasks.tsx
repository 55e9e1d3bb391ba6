// The task list: filters live in the URL (so a view can be linked), pages come from the server by
// cursor (never the whole store), and the header's counts come from admin.stats. Purge, when
// actions are on, counts first (a dry run) and deletes at most that count after confirmation.
import { useState } from 'preact/hooks';
import type { TaskState } from '@baton/core';
import { STATES, type CountsResponse, type SessionInfo, type TaskListResponse } from '../../src/api-types.js';
import { get, post } from '../api.js';
import { ago, count, short } from '../components/format.js';
import { ErrorNote, ProgressBar, StateBadge } from '../components/widgets.js';
import { href, usePoll } from '../hooks.js';

const FILTER_KEYS = ['state', 'type', 'queue', 'runId', 'phaseId', 'since', 'until', 'q'] as const;
const WINDOWS: [string, number | null][] = [
  ['any time', null],
  ['last 15 min', 15 * 60_000],
  ['last hour', 3_600_000],
  ['last 24 h', 86_400_000],
  ['last 7 days', 7 * 86_400_000],
];

export function TasksPage({ session, params }: { session: SessionInfo; params: URLSearchParams }) {
  const filter: Record<string, string> = {};
  for (const k of FILTER_KEYS) {
    const v = params.get(k);
    if (v !== null && v !== '') filter[k] = v;
  }
  const cursor = params.get('cursor') ?? undefined;
  // Previous pages' cursors, carried in the URL so "Previous" survives a reload.
  const back = params.get('back');
  const key = JSON.stringify({ filter, cursor });
  const { data, error } = usePoll(() => get<TaskListResponse>('tasks', { ...filter, cursor, limit: '50' }), key, session.pollMs);
  // Counts come separately: the page of tasks never waits for a grouped count of the whole store.
  const { q: _q, ...countFilter } = filter;
  const counts = usePoll(() => get<CountsResponse>('counts', countFilter), JSON.stringify(countFilter), session.pollMs).data?.counts ?? null;
  const now = Date.now();
  const go = (next: Record<string, string | undefined>) => {
    window.location.hash = href('/tasks', { ...filter, ...next }).slice(1);
  };
  const states = (filter.state ?? '').split(',').filter((s) => s !== '');
  const toggleState = (s: TaskState) => {
    const next = states.includes(s) ? states.filter((x) => x !== s) : [...states, s];
    go({ state: next.join(','), cursor: undefined, back: undefined });
  };
  const onSubmit = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const next: Record<string, string | undefined> = { cursor: undefined, back: undefined };
    for (const k of ['type', 'queue', 'runId', 'phaseId', 'q'] as const) next[k] = String(form.get(k) ?? '').trim() || undefined;
    const windowMs = Number(form.get('window'));
    next.since = windowMs > 0 ? String(Date.now() - windowMs) : undefined;
    go(next);
  };
  const backStack = back ? back.split(' ') : [];
  return (
    <section>
      <h1>Tasks</h1>
      <form class="filters" onSubmit={onSubmit}>
        <fieldset class="states">
          <legend>State</legend>
          {STATES.map((s) => (
            <label key={s} class={`chip state-${s} ${states.includes(s) ? 'on' : ''}`}>
              <input type="checkbox" checked={states.includes(s)} onChange={() => toggleState(s)} />
              {s}
              {counts && <span class="chip-n">{count(counts[s])}</span>}
            </label>
          ))}
        </fieldset>
        <label>
          Search id <input name="q" type="search" value={filter.q ?? ''} placeholder="task id" autocomplete="off" />
        </label>
        <label>
          Type <input name="type" value={filter.type ?? ''} autocomplete="off" />
        </label>
        <label>
          Queue <input name="queue" value={filter.queue ?? ''} autocomplete="off" />
        </label>
        <label>
          Run <input name="runId" value={filter.runId ?? ''} autocomplete="off" />
        </label>
        <label>
          Phase <input name="phaseId" value={filter.phaseId ?? ''} autocomplete="off" />
        </label>
        <label>
          Created
          <select name="window">
            {WINDOWS.map(([label, ms]) => (
              <option key={label} value={ms ?? 0}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Apply</button>
        <a class="button-link" href={href('/tasks')}>
          Clear
        </a>
      </form>
      {filter.since && <p class="muted note">Created since {new Date(Number(filter.since)).toLocaleString()}.</p>}
      <ErrorNote error={error} />
      {data === null ? (
        <p class="muted">Loading…</p>
      ) : data.tasks.length === 0 ? (
        <p class="muted">{filter.q ? 'No task has this id. (Search by idempotency key is not available yet.)' : 'No task matches.'}</p>
      ) : (
        <table class="grid tasks" aria-label="Tasks">
          <thead>
            <tr>
              <th>id</th>
              <th>type</th>
              <th>queue</th>
              <th>state</th>
              <th class="num">attempt</th>
              <th class="num">recoveries</th>
              <th>progress</th>
              <th>created</th>
              <th>updated</th>
              <th>error</th>
            </tr>
          </thead>
          <tbody>
            {data.tasks.map((t) => (
              <tr key={t.id} data-task={t.id}>
                <td>
                  <a href={href(`/task/${encodeURIComponent(t.id)}`)} title={t.id}>
                    <code>{short(t.id)}</code>
                  </a>
                </td>
                <td>{t.type}</td>
                <td>{t.queue}</td>
                <td>
                  <StateBadge state={t.state} />
                </td>
                <td class="num" title={`${t.attempt} failed run(s) retried; at most ${t.maxRetries} retries`}>
                  {t.attempt}
                </td>
                <td class="num">{t.recoveries}</td>
                <td>{t.progress === null ? '' : <ProgressBar progress={t.progress} />}</td>
                <td title={new Date(t.createdAt).toISOString()}>{ago(t.createdAt, now)}</td>
                <td title={new Date(t.updatedAt).toISOString()}>{ago(t.updatedAt, now)}</td>
                <td class="error-cell">{t.error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="pager">
        <button type="button" disabled={backStack.length === 0 && cursor === undefined} onClick={() => go({ cursor: backStack[backStack.length - 1] || undefined, back: backStack.slice(0, -1).join(' ') || undefined })}>
          ← Previous
        </button>
        <button type="button" disabled={!data?.cursor} onClick={() => go({ cursor: data?.cursor ?? undefined, back: [...backStack, cursor ?? ''].join(' ') })}>
          Next →
        </button>
      </div>
      {session.actions && <PurgePanel filter={filter} />}
    </section>
  );
}

function PurgePanel({ filter }: { filter: Record<string, string> }) {
  const [counted, setCounted] = useState<number | null>(null);
  const [done, setDone] = useState<number | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const { q: _q, ...query } = filter;
  const finishedOnly = (query.state ?? '').split(',').filter((s) => s !== '');
  const allowed = finishedOnly.length > 0 && finishedOnly.every((s) => s === 'completed' || s === 'dead' || s === 'cancelled');
  const dryRun = async () => {
    setError(null);
    setDone(null);
    try {
      setCounted((await post('purge', { filter: query, dryRun: true })).count ?? 0);
    } catch (err) {
      setError(err as Error);
    }
  };
  const confirm = async () => {
    setError(null);
    try {
      setDone((await post('purge', { filter: query, confirm: counted })).count ?? 0);
      setCounted(null);
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <div class="card purge">
      <h2>Purge</h2>
      <p class="muted">Deletes finished tasks matching the filter above, with their checkpoints. Select only completed, dead or cancelled states.</p>
      <ErrorNote error={error} />
      {counted === null ? (
        <button type="button" disabled={!allowed} onClick={() => void dryRun()}>
          Count tasks to purge
        </button>
      ) : (
        <div class="confirm" role="alertdialog" aria-label="Confirm purge">
          <span>
            This deletes <strong>{count(counted)}</strong> task{counted === 1 ? '' : 's'} for good.
          </span>
          <button type="button" class="danger" disabled={counted === 0} onClick={() => void confirm()}>
            Purge {count(counted)}
          </button>
          <button type="button" onClick={() => setCounted(null)}>
            Cancel
          </button>
        </div>
      )}
      {done !== null && <p role="status">Purged {count(done)} tasks.</p>}
    </div>
  );
}
