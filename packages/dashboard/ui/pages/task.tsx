// One task: its state, progress, usage against budget, attempts and recoveries, its input and
// result as collapsible JSON, its current checkpoint and the timeline of its events.
import { useState } from 'preact/hooks';
import type { SessionInfo, TaskDetailResponse } from '../../src/api-types.js';
import { ApiError, get, post, seg } from '../api.js';
import { ago, bytes, duration, time } from '../components/format.js';
import { Timeline } from '../components/timeline.js';
import { Collapsible, ErrorNote, JsonView, ProgressBar, StateBadge, UsageBar } from '../components/widgets.js';
import { href, usePoll } from '../hooks.js';

export function TaskPage({ session, id }: { session: SessionInfo; id: string }) {
  const { data, error, reload } = usePoll(() => get<TaskDetailResponse>(`tasks/${seg(id)}`), `task:${id}`, session.pollMs);
  const [actionError, setActionError] = useState<Error | null>(null);
  const act = async (what: 'retry' | 'cancel') => {
    setActionError(null);
    try {
      await post(`tasks/${seg(id)}/${what}`);
      reload();
    } catch (err) {
      setActionError(err as Error);
    }
  };
  if (error instanceof ApiError && error.status === 404) {
    return (
      <section>
        <h1>Task not found</h1>
        <p>{error.message}</p>
        <a href={href('/tasks')}>All tasks</a>
      </section>
    );
  }
  if (data === null) return error ? <ErrorNote error={error} /> : <p class="muted">Loading…</p>;
  const t = data.task;
  const finished = t.state === 'completed' || t.state === 'dead' || t.state === 'cancelled';
  return (
    <section class="task">
      <h1>
        Task <code class="task-id">{t.id}</code> <StateBadge state={t.state} />
      </h1>
      <ErrorNote error={error ?? actionError} />
      {session.actions && (
        <div class="actions">
          {finished ? (
            <button type="button" onClick={() => void act('retry')}>
              Retry
            </button>
          ) : (
            <button type="button" class="danger" onClick={() => void act('cancel')}>
              Cancel
            </button>
          )}
        </div>
      )}
      <dl class="facts">
        <dt>type</dt>
        <dd>{t.type}</dd>
        <dt>queue</dt>
        <dd>
          <a href={href('/tasks', { queue: t.queue })}>{t.queue}</a> (priority {t.priority}
          {t.group !== null ? `, group ${t.group}` : ''})
        </dd>
        <dt>run / phase</dt>
        <dd>
          {t.runId === null ? '—' : <a href={href('/tasks', { runId: t.runId })}>{t.runId}</a>} / {t.phaseId === null ? '—' : <a href={href(`/phase/${encodeURIComponent(t.phaseId)}`)}>{t.phaseId}</a>}
        </dd>
        <dt>attempt</dt>
        <dd>
          {t.attempt} (failed runs retried so far; at most {t.maxRetries} retries)
        </dd>
        <dt>recoveries</dt>
        <dd>{t.recoveries}</dd>
        <dt>worker</dt>
        <dd>{t.workerId ?? '—'}</dd>
        <dt>progress</dt>
        <dd>
          <ProgressBar progress={t.progress} />
        </dd>
        <dt>cost</dt>
        <dd>
          <UsageBar used={t.usage.costUsd} limit={t.budget?.costUsd} unit="$" />
        </dd>
        <dt>tokens</dt>
        <dd>
          <UsageBar used={t.usage.tokens} limit={t.budget?.tokens} unit="tokens" />
        </dd>
        <dt>time budget</dt>
        <dd>{t.budget?.timeMs === undefined ? '—' : duration(t.budget.timeMs)}</dd>
        <dt>created</dt>
        <dd>
          {time(t.createdAt)} ({ago(t.createdAt, data.now)})
        </dd>
        <dt>started</dt>
        <dd>{time(t.startedAt)}</dd>
        <dt>heartbeat</dt>
        <dd>{t.heartbeatAt === null ? '—' : `${time(t.heartbeatAt)} (${ago(t.heartbeatAt, data.now)})`}</dd>
        <dt>finished</dt>
        <dd>
          {time(t.finishedAt)}
          {t.durationMs !== null ? ` (ran ${duration(t.durationMs)})` : ''}
        </dd>
        <dt>idempotency key</dt>
        <dd>
          <code>{t.idempotencyKey}</code>
        </dd>
      </dl>
      {t.error && (
        <div class="card error-card">
          <h2>Error</h2>
          <p>
            <strong>{t.error.name}</strong>
            {t.error.code ? ` (${t.error.code})` : ''}: <span class="error-message">{t.error.message}</span>
          </p>
          {t.error.stack && <pre class="stack">{t.error.stack}</pre>}
        </div>
      )}
      {t.corruption && (
        <div class="card error-card">
          <h2>Corrupt record</h2>
          <p>
            Field <code>{t.corruption.field}</code>: {t.corruption.reason}
          </p>
          <pre class="stack">{t.corruption.raw}</pre>
        </div>
      )}
      <div class="columns">
        <div>
          <Collapsible title="Input">
            <JsonView value={t.input} />
          </Collapsible>
          <Collapsible title="Result">{t.result === null ? <span class="muted">no result</span> : <JsonView value={t.result} />}</Collapsible>
          <Collapsible title="Checkpoint">
            {data.checkpoint === null ? (
              <span class="muted">none stored{t.state === 'completed' ? ' (a completed task’s checkpoint is deleted unless checkpoints.keepAfterCompletion is set)' : ''}</span>
            ) : (
              <div class="checkpoint">
                <p>
                  token <code class="cp-token">{data.checkpoint.token}</code> · {bytes(data.checkpoint.sizeBytes)} ({data.checkpoint.encoding}, {bytes(data.checkpoint.storedBytes)} stored) · saved {ago(data.checkpoint.updatedAt, data.now)}
                </p>
                {data.checkpoint.error ? <p class="error-note">{data.checkpoint.error}</p> : <JsonView value={data.checkpoint.data} />}
              </div>
            )}
          </Collapsible>
        </div>
        <div>
          <h2>Timeline</h2>
          <Timeline events={data.events} />
          {data.eventsTruncated && <p class="muted">Only the first events are shown.</p>}
        </div>
      </div>
    </section>
  );
}
