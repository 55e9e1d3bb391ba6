// Durable timers not yet fired: retries waiting their backoff, phase timeboxes, retention
// cleanups and custom timers, split into overdue, due soon and later.
import type { SessionInfo, TimersResponse, TimerView } from '../../src/api-types.js';
import { get } from '../api.js';
import { ago, count, duration, short, time } from '../components/format.js';
import { ErrorNote } from '../components/widgets.js';
import { href, usePoll } from '../hooks.js';

const GROUPS: [TimerView['status'], string][] = [
  ['overdue', 'Overdue'],
  ['due-soon', 'Due soon'],
  ['pending', 'Later'],
];

export function TimersPage({ session }: { session: SessionInfo }) {
  const { data, error } = usePoll(() => get<TimersResponse>('timers'), 'timers', session.pollMs);
  return (
    <section>
      <h1>Timers</h1>
      <ErrorNote error={error} />
      {data === null ? (
        <p class="muted">Loading…</p>
      ) : (
        <>
          <div class="totals">
            {GROUPS.map(([status, label]) => (
              <span key={status} class={`total timer-${status}`}>
                <span class="total-n">{count(data.timers.filter((t) => t.status === status).length)}</span>
                <span class="total-label">{label}</span>
              </span>
            ))}
          </div>
          <p class="muted note">
            Due soon: within {duration(data.dueSoonMs)}. Overdue: past due and not fired yet (no timer loop running, or it is behind).
            {data.truncated ? ' Only the first 1,000 timers are shown.' : ''}
          </p>
          {data.timers.length === 0 ? (
            <p class="muted">No pending timer.</p>
          ) : (
            <table class="grid" aria-label="Timers">
              <thead>
                <tr>
                  <th>status</th>
                  <th>kind</th>
                  <th>name</th>
                  <th>task / phase</th>
                  <th>due</th>
                  <th>key</th>
                </tr>
              </thead>
              <tbody>
                {data.timers.map((t) => (
                  <tr key={t.id} class={`timer-${t.status}`}>
                    <td>{GROUPS.find(([s]) => s === t.status)?.[1]}</td>
                    <td>{t.kind}</td>
                    <td>{t.name ?? '—'}</td>
                    <td>
                      {t.taskId !== null ? (
                        <a href={href(`/task/${encodeURIComponent(t.taskId)}`)} title={t.taskId}>
                          <code>{short(t.taskId)}</code>
                        </a>
                      ) : t.phaseId !== null ? (
                        <a href={href(`/phase/${encodeURIComponent(t.phaseId)}`)}>{t.phaseId}</a>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td title={time(t.dueAt)}>{ago(t.dueAt, data.now)}</td>
                    <td>{t.key === null ? '—' : <code>{short(t.key, 24)}</code>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
