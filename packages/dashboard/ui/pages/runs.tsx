// The scheduler's fan-out: phases with their tasks' states, and for one phase the budget the
// scheduler split across its tasks against what they spent.
import type { PhaseDetailResponse, PhasesResponse, SessionInfo } from '../../src/api-types.js';
import { STATES } from '../../src/api-types.js';
import { get, seg } from '../api.js';
import { count, duration, short } from '../components/format.js';
import { ErrorNote, ProgressBar, StateBadge, UsageBar } from '../components/widgets.js';
import { href, usePoll } from '../hooks.js';

export function RunsPage({ session, params }: { session: SessionInfo; params: URLSearchParams }) {
  const runId = params.get('runId') ?? '';
  const { data, error } = usePoll(() => get<PhasesResponse>('phases', { runId }), `phases:${runId}`, session.pollMs);
  const onSubmit = (e: Event) => {
    e.preventDefault();
    const v = String(new FormData(e.currentTarget as HTMLFormElement).get('runId') ?? '').trim();
    window.location.hash = href('/runs', { runId: v }).slice(1);
  };
  return (
    <section>
      <h1>Runs &amp; phases</h1>
      <form class="filters" onSubmit={onSubmit}>
        <label>
          Run id <input name="runId" value={runId} autocomplete="off" placeholder="all phases" />
        </label>
        <button type="submit">Show</button>
      </form>
      <ErrorNote error={error} />
      {data === null ? (
        <p class="muted">Loading…</p>
      ) : data.phases.length === 0 ? (
        <p class="muted">No phase has tasks{runId ? ' in this run' : ''}.</p>
      ) : (
        <table class="grid" aria-label="Phases">
          <thead>
            <tr>
              <th>phase</th>
              <th>done</th>
              {STATES.map((s) => (
                <th key={s} class="num">
                  {s}
                </th>
              ))}
              <th class="num">tasks</th>
            </tr>
          </thead>
          <tbody>
            {data.phases.map((p) => (
              <tr key={p.phaseId}>
                <td>
                  <a href={href(`/phase/${encodeURIComponent(p.phaseId)}`)}>{p.phaseId}</a>
                </td>
                <td>
                  <ProgressBar progress={p.total === 0 ? 0 : (p.counts.completed + p.counts.dead + p.counts.cancelled) / p.total} />
                </td>
                {STATES.map((s) => (
                  <td key={s} class={`num ${p.counts[s] > 0 ? `state-${s}` : 'zero'}`}>
                    {count(p.counts[s])}
                  </td>
                ))}
                <td class="num">{count(p.total)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data?.truncated && <p class="muted">The run has more tasks than were read; the figures cover the first 10,000.</p>}
    </section>
  );
}

export function PhasePage({ session, id }: { session: SessionInfo; id: string }) {
  const { data, error } = usePoll(() => get<PhaseDetailResponse>(`phases/${seg(id)}`), `phase:${id}`, session.pollMs);
  return (
    <section>
      <h1>
        Phase <code>{id}</code>
      </h1>
      <ErrorNote error={error} />
      {data === null ? (
        <p class="muted">Loading…</p>
      ) : (
        <>
          <dl class="facts">
            <dt>run</dt>
            <dd>
              {data.runIds.length === 0
                ? '—'
                : data.runIds.map((r) => (
                    <a key={r} href={href('/runs', { runId: r })}>
                      {r}{' '}
                    </a>
                  ))}
            </dd>
            <dt>tasks</dt>
            <dd>
              {STATES.filter((s) => data.counts[s] > 0)
                .map((s) => `${count(data.counts[s])} ${s}`)
                .join(', ') || 'none'}{' '}
              <a href={href('/tasks', { phaseId: id })}>list</a>
            </dd>
            <dt>cost</dt>
            <dd>
              <UsageBar used={data.usage.costUsd} limit={data.budget.costUsd} unit="$" />
            </dd>
            <dt>tokens</dt>
            <dd>
              <UsageBar used={data.usage.tokens} limit={data.budget.tokens} unit="tokens" />
            </dd>
            <dt>time budget</dt>
            <dd>{data.budget.timeMs === null ? '—' : `${duration(data.budget.timeMs)} in all`}</dd>
          </dl>
          <table class="grid" aria-label="Phase tasks">
            <thead>
              <tr>
                <th>task</th>
                <th>type</th>
                <th>state</th>
                <th>cost (spent / share)</th>
                <th>tokens (spent / share)</th>
                <th>progress</th>
              </tr>
            </thead>
            <tbody>
              {data.tasks.map((t) => (
                <tr key={t.id}>
                  <td>
                    <a href={href(`/task/${encodeURIComponent(t.id)}`)} title={t.id}>
                      <code>{short(t.id)}</code>
                    </a>
                  </td>
                  <td>{t.type}</td>
                  <td>
                    <StateBadge state={t.state} />
                  </td>
                  <td>
                    <UsageBar used={t.usage.costUsd} limit={t.budget?.costUsd} unit="$" />
                  </td>
                  <td>
                    <UsageBar used={t.usage.tokens} limit={t.budget?.tokens} unit="tokens" />
                  </td>
                  <td>{t.progress === null ? '' : <ProgressBar progress={t.progress} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.truncated && <p class="muted">The phase has more tasks than were read; the figures cover the first 10,000.</p>}
        </>
      )}
    </section>
  );
}
