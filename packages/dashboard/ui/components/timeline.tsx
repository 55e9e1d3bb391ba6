// A task's story from its audit events: enqueued → started on worker A → checkpointed ×n →
// lease lost → recovered → started on worker B → resumed from a token → completed. Runs of
// checkpoints or progress reports fold into one entry. A worker that was SIGKILLed writes no
// `task.lease_lost` (it is dead): the entry is inferred from the `task.recovered` that follows and
// marked so.
import type { JsonValue, StoredEvent } from '@baton/core';
import { duration, time } from './format.js';

export interface TimelineEntry {
  key: string;
  kind: string;
  title: string;
  detail: string | null;
  at: number;
  workerId: string | null;
  count: number;
  inferred: boolean;
}

const str = (v: JsonValue | undefined): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);

export function buildTimeline(events: StoredEvent[]): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  let runWorker: string | null = null;
  let leaseLostSinceStart = false;
  for (const e of events) {
    const d = e.data;
    // Checkpoints and progress reports interleave within a run: each folds into the run's one entry of its kind.
    const folding = e.type === 'task.checkpointed' || e.type === 'task.progress';
    let last: TimelineEntry | undefined;
    for (let i = out.length - 1; folding && i >= 0; i--) {
      const k = out[i]!.kind;
      if (k === e.type) last = out[i];
      if (k !== 'task.checkpointed' && k !== 'task.progress') break;
    }
    if (folding && last) {
      last.count++;
      last.title = e.type === 'task.checkpointed' ? `Checkpointed ×${last.count}` : `Progress reported ×${last.count}`;
      last.detail = e.type === 'task.checkpointed' ? `last token ${str(d.token) ?? '?'}${typeof d.sizeBytes === 'number' ? `, ${d.sizeBytes} bytes` : ''}` : `last ${JSON.stringify(d.progress ?? null)}`;
      last.at = e.at;
      continue;
    }
    const entry = (title: string, detail: string | null = null): TimelineEntry => ({ key: String(e.seq), kind: e.type, title, detail, at: e.at, workerId: e.workerId, count: 1, inferred: false });
    switch (e.type) {
      case 'task.enqueued':
        out.push(entry('Enqueued', `queue ${str(d.queue) ?? '?'}${typeof d.delayMs === 'number' ? `, delayed ${duration(d.delayMs)}` : ''}${typeof d.priority === 'number' ? `, priority ${d.priority}` : ''}`));
        break;
      case 'task.started':
        runWorker = e.workerId;
        leaseLostSinceStart = false;
        out.push(entry(`Started on worker ${e.workerId ?? '?'}`, `attempt ${str(d.attempt) ?? '0'}, recoveries ${str(d.recoveries) ?? '0'}`));
        break;
      case 'task.resumed':
        out.push(entry(`Resumed from token ${str(d.token) ?? '?'}`, `from the checkpoint saved before${typeof d.recoveries === 'number' ? `; recoveries ${d.recoveries}` : ''}`));
        break;
      case 'task.checkpointed':
        out.push(entry('Checkpointed', `token ${str(d.token) ?? '?'}${typeof d.sizeBytes === 'number' ? `, ${d.sizeBytes} bytes` : ''}`));
        break;
      case 'task.progress':
        out.push(entry('Progress reported', JSON.stringify(d.progress ?? null)));
        break;
      case 'task.lease_lost':
        leaseLostSinceStart = true;
        out.push(entry('Lease lost', str(d.reason)));
        break;
      case 'task.recovered':
        if (!leaseLostSinceStart) {
          out.push({
            key: `${e.seq}-lost`,
            kind: 'task.lease_lost',
            title: 'Lease lost',
            detail: `worker ${runWorker ?? '?'} stopped heartbeating (crashed or stalled); its lease expired`,
            at: e.at,
            workerId: runWorker,
            count: 1,
            inferred: true,
          });
        }
        out.push(entry('Recovered', `reclaimed by ${e.workerId ?? '?'}${d.by === 'claim' ? ' at claim' : ' by the supervisor'}; back to pending`));
        break;
      case 'task.released':
        out.push(entry('Released', `reason ${str(d.reason) ?? '?'}${typeof d.delayMs === 'number' ? `, again in ${duration(d.delayMs)}` : ''}`));
        break;
      case 'task.failed':
        out.push(entry(`Failed (attempt ${str(d.attempt) ?? '?'})`, `${str(d.code) ? `${str(d.code)}: ` : ''}${str(d.error) ?? ''}`));
        break;
      case 'task.retry_scheduled':
        out.push(entry('Retry scheduled', typeof d.delayMs === 'number' ? `in ${duration(d.delayMs)}` : null));
        break;
      case 'task.completed':
        out.push(entry('Completed', typeof d.durationMs === 'number' ? `in ${duration(d.durationMs)}` : null));
        break;
      case 'task.dead':
        out.push(entry('Dead', str(d.error) ?? str(d.reason)));
        break;
      case 'task.cancelled':
        out.push(entry('Cancelled', str(d.reason)));
        break;
      case 'task.retried':
        out.push(entry('Retried by an operator', d.resetAttempts === true ? 'attempts reset' : null));
        break;
      case 'task.corrupt':
        out.push(entry('Record corrupt: quarantined', `${str(d.field) ?? ''} ${str(d.reason) ?? ''}`.trim()));
        break;
      default:
        out.push(entry(e.type, Object.keys(d).length > 0 ? JSON.stringify(d) : null));
    }
  }
  return out;
}

export function Timeline({ events }: { events: StoredEvent[] }) {
  const entries = buildTimeline(events);
  if (entries.length === 0) return <p class="muted">No events recorded for this task.</p>;
  return (
    <ol class="timeline" aria-label="Task timeline">
      {entries.map((e) => (
        <li key={e.key} class={`tl tl-${e.kind.replace('task.', '')}`} data-kind={e.kind}>
          <span class="tl-dot" aria-hidden="true" />
          <div class="tl-main">
            <span class="tl-title">{e.title}</span>
            {e.inferred && <span class="tl-inferred" title="No event was written: the worker died. Inferred from the recovery that followed."> (inferred)</span>}
            {e.detail && <div class="tl-detail">{e.detail}</div>}
          </div>
          <time class="tl-at">{time(e.at)}</time>
        </li>
      ))}
    </ol>
  );
}
