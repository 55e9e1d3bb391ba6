// Per queue: counts by state, the last hour's completions and failures, the oldest wait, the
// paused flag and running tasks past their lease. Pause and resume when actions are on.
import { useState } from 'preact/hooks';
import { STATES as TASK_STATES, type OverviewResponse, type QueueOverview, type SessionInfo } from '../../src/api-types.js';
import { get, post, seg } from '../api.js';
import { count, duration } from '../components/format.js';
import { ErrorNote, Sparkline } from '../components/widgets.js';
import { href, usePoll } from '../hooks.js';

export function OverviewPage({ session }: { session: SessionInfo }) {
  const { data, error, reload } = usePoll(() => get<OverviewResponse>('overview'), 'overview', session.pollMs);
  const [actionError, setActionError] = useState<Error | null>(null);
  const toggle = async (q: QueueOverview) => {
    setActionError(null);
    try {
      await post(`queues/${seg(q.name)}/${q.paused ? 'resume' : 'pause'}`);
      reload();
    } catch (err) {
      setActionError(err as Error);
    }
  };
  return (
    <section>
      <h1>Queues</h1>
      <ErrorNote error={error ?? actionError} />
      {data === null ? (
        <p class="muted">Loading…</p>
      ) : (
        <>
          <div class="totals">
            {TASK_STATES.map((s) => (
              <a key={s} class={`total state-${s}`} href={href('/tasks', { state: s })}>
                <span class="total-n">{count(data.totals[s])}</span>
                <span class="total-label">{s}</span>
              </a>
            ))}
          </div>
          {data.queues.length === 0 ? (
            <p class="muted">No queue has tasks yet.</p>
          ) : (
            <table class="grid" aria-label="Queues">
              <thead>
                <tr>
                  <th>Queue</th>
                  {TASK_STATES.map((s) => (
                    <th key={s} class="num">
                      {s}
                    </th>
                  ))}
                  <th class="num">oldest waiting</th>
                  <th class="num" title="Running tasks whose worker stopped heartbeating and that are not reclaimed yet">past lease</th>
                  <th>last hour (done / failed)</th>
                  {session.actions && <th />}
                </tr>
              </thead>
              <tbody>
                {data.queues.map((q) => (
                  <tr key={q.name} data-queue={q.name}>
                    <td>
                      <a href={href('/tasks', { queue: q.name })}>{q.name}</a>
                      {q.paused && <span class="badge paused">paused</span>}
                      {q.concurrency !== null && <span class="badge limit">≤{q.concurrency} at once</span>}
                      {q.rateLimit !== null && (
                        <span class="badge limit">
                          {q.rateLimit.max}/{duration(q.rateLimit.perMs)}
                        </span>
                      )}
                    </td>
                    {TASK_STATES.map((s) => (
                      <td key={s} class={`num ${q.counts[s] > 0 ? `state-${s}` : 'zero'}`}>
                        <a href={href('/tasks', { queue: q.name, state: s })}>{count(q.counts[s])}</a>
                      </td>
                    ))}
                    <td class="num">{duration(q.oldestWaitingMs)}</td>
                    <td class={`num ${q.runningPastLease > 0 ? 'warn' : 'zero'}`}>{count(q.runningPastLease)}</td>
                    <td>
                      <Sparkline data={q.series} label={q.name} />
                    </td>
                    {session.actions && (
                      <td>
                        <button type="button" class="small" onClick={() => void toggle(q)}>
                          {q.paused ? 'Resume' : 'Pause'}
                        </button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <p class="muted note">
            Sparklines: completions and failed runs per minute over the last hour, read from the event log
            {data.series.partial ? ' (still catching up with a busy log)' : ''}
            {data.series.unattributed > 0 ? `; ${count(data.series.unattributed)} events of purged tasks not shown` : ''}. Counts from admin.stats; backend {data.backend}.
          </p>
        </>
      )}
    </section>
  );
}
