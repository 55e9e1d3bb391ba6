// Finished tasks per terminal state, oldest first by (finishedAt, creation order): the order
// core's `retentionVictims` ranks them in. What retention removes is always a prefix of that
// order (everything but the newest `keepLatest`, plus everything finished before the cutoff, both
// oldest first), so a purge pops just that prefix off the heap: O(removed · log n), with no scan,
// sort or set of the tasks it keeps. A test checks the answer against `retentionVictims` over
// every finished task.
import { isTerminal, type PurgeOptions, type TaskState, type TerminalState } from '@baton/core/adapter';
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
    const cutoff = now - options.olderThanMs;
    // The oldest `total - keepLatest` go whatever their age; after them, those finished before the cutoff.
    const beyondCount = heap.size - options.keepLatest;
    const out: RetentionNode[] = [];
    for (let top = heap.peek(); top !== undefined && out.length < options.limit && (out.length < beyondCount || top.finishedAt < cutoff); top = heap.peek()) {
      out.push(top);
      heap.pop();
    }
    return out;
  }
}
