// Finished tasks per terminal state, oldest first by (finishedAt, creation order): the order
// core's `retentionVictims` ranks them in. Retention can only remove a prefix of that order, so a
// purge hands `retentionVictims` just the oldest `limit` tasks (with `keepLatest` shifted by the
// newer ones it did not see) and gets exactly the answer the whole set would give, in
// O(limit · log n) instead of a scan and sort of every task.
import { isTerminal, retentionVictims, type PurgeOptions, type TaskState, type TerminalState } from '@baton/core/adapter';
import { IndexedHeap, type HeapNode } from './indexed-heap.js';

export interface RetentionNode extends HeapNode {
  readonly taskId: string;
  readonly state: TerminalState;
  readonly finishedAt: number;
  readonly order: number;
}

/** What the index reads of a stored task; `retention` is the task's node while it is finished. */
export interface Retained {
  id: string;
  state: TaskState;
  order: number;
  finishedAt: number | null;
  updatedAt: number;
  retention: RetentionNode | null;
}

const older = (a: RetentionNode, b: RetentionNode): boolean => a.finishedAt < b.finishedAt || (a.finishedAt === b.finishedAt && a.order < b.order);

export class RetentionIndex {
  private readonly heaps: Record<TerminalState, IndexedHeap<RetentionNode>> = {
    completed: new IndexedHeap(older),
    dead: new IndexedHeap(older),
    cancelled: new IndexedHeap(older),
  };

  /** Brings the task's entry in line with its state after a change. */
  sync(t: Retained): void {
    const finishedAt = t.finishedAt ?? t.updatedAt;
    const node = t.retention;
    if (node !== null) {
      if (node.state === t.state && node.finishedAt === finishedAt) return;
      this.heaps[node.state].remove(node);
      t.retention = null;
    }
    const state = t.state;
    if (!isTerminal(state)) return;
    const fresh: RetentionNode = { taskId: t.id, state, finishedAt, order: t.order, heapIndex: -1 };
    this.heaps[state].push(fresh);
    t.retention = fresh;
  }

  /** Forgets a task that is being deleted. */
  drop(t: Retained): void {
    if (t.retention === null) return;
    this.heaps[t.retention.state].remove(t.retention);
    t.retention = null;
  }

  /** The tasks retention removes now (`retentionVictims` semantics), taken out of the index. */
  victims(options: PurgeOptions, now: number): RetentionNode[] {
    const heap = this.heaps[options.state];
    const total = heap.size;
    // Within the count and the oldest not past the age: nothing goes (the common pass).
    const oldestNode = heap.peek();
    if (oldestNode === undefined || (total <= options.keepLatest && oldestNode.finishedAt >= now - options.olderThanMs)) return [];
    const oldest: RetentionNode[] = [];
    while (oldest.length < options.limit && heap.size > 0) oldest.push(heap.pop()!);
    const unseenNewer = total - oldest.length;
    const victims = retentionVictims(oldest, { olderThanMs: options.olderThanMs, keepLatest: Math.max(0, options.keepLatest - unseenNewer), limit: options.limit }, now);
    const chosen = new Set(victims);
    for (const node of oldest) if (!chosen.has(node)) heap.push(node);
    return victims;
  }
}
