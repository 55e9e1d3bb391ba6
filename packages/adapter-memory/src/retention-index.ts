// Finished tasks per terminal state, oldest first by (finishedAt, creation order): the order
// core's `retentionVictims` ranks them in. What retention removes is always a prefix of that
// order (everything but the newest `keepLatest`, plus everything finished before the cutoff, both
// oldest first), so a purge pops just that prefix: no scan, sort or set of the tasks it keeps. A
// test checks the answer against `retentionVictims` over every finished task.
import { isTerminal, type PurgeOptions, type TaskState, type TerminalState } from '@baton/core/adapter';
import { IndexedHeap, type HeapNode } from './indexed-heap.js';

export interface RetentionNode extends HeapNode {
  /** The finished task itself: a purge removes it without looking its id up. */
  readonly task: Retained;
  readonly state: TerminalState;
  readonly finishedAt: number;
  readonly order: number;
  /** Its position in its list's in-order run; -1 while it is not there (in the heap, or gone). */
  runIndex: number;
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

/**
 * The finished tasks of one state, oldest first. Tasks mostly finish in that order (finishedAt is
 * the clock at the finish), so a node that is not older than the last one appended joins an
 * in-order run: O(1) in and out, where a heap costs a sift per node. Nodes that arrive out of
 * order (equal finish times with older creation orders, a clock step back) go to a heap, and the
 * oldest is the older of the two heads.
 */
class OldestFirst {
  /** The run, in order; removed nodes leave null until the head passes them. Positions are absolute: `base` is items[0]'s. */
  private items: (RetentionNode | null)[] = [];
  private base = 0;
  private head = 0;
  private tail: RetentionNode | null = null;
  private readonly late = new IndexedHeap<RetentionNode>(older);
  size = 0;

  push(node: RetentionNode): void {
    this.size++;
    if (this.tail !== null && older(node, this.tail)) {
      this.late.push(node);
      return;
    }
    node.runIndex = this.base + this.items.length;
    this.items.push(node);
    this.tail = node;
  }

  remove(node: RetentionNode): void {
    this.size--;
    if (node.runIndex < 0) {
      this.late.remove(node);
      return;
    }
    this.items[node.runIndex - this.base] = null;
    node.runIndex = -1;
    this.compact();
  }

  peek(): RetentionNode | undefined {
    const first = this.runHead();
    const late = this.late.peek();
    return first === undefined || (late !== undefined && older(late, first)) ? late : first;
  }

  pop(): RetentionNode | undefined {
    const top = this.peek();
    if (top !== undefined) this.remove(top);
    return top;
  }

  private runHead(): RetentionNode | undefined {
    const items = this.items;
    while (this.head - this.base < items.length && items[this.head - this.base] === null) this.head++;
    return items[this.head - this.base] ?? undefined;
  }

  /** Drops the nulls before the head once they are most of the run. */
  private compact(): void {
    const dead = this.head - this.base;
    if (dead < 1_024 || dead * 2 < this.items.length) return;
    this.items = this.items.slice(dead);
    this.base = this.head;
  }
}

export class RetentionIndex {
  private readonly lists: Record<TerminalState, OldestFirst> = {
    completed: new OldestFirst(),
    dead: new OldestFirst(),
    cancelled: new OldestFirst(),
  };

  /** Brings the task's entry in line with its state after a change. */
  sync(t: Retained): void {
    const finishedAt = t.finishedAt ?? t.updatedAt;
    const node = t.retention;
    if (node !== null) {
      if (node.state === t.state && node.finishedAt === finishedAt) return;
      this.lists[node.state].remove(node);
      t.retention = null;
    }
    const state = t.state;
    if (!isTerminal(state)) return;
    const fresh: RetentionNode = { task: t, state, finishedAt, order: t.order, heapIndex: -1, runIndex: -1 };
    this.lists[state].push(fresh);
    t.retention = fresh;
  }

  /** Forgets a task that is being deleted. */
  drop(t: Retained): void {
    if (t.retention === null) return;
    this.lists[t.retention.state].remove(t.retention);
    t.retention = null;
  }

  /** The tasks retention removes now (`retentionVictims` semantics), taken out of the index. */
  victims(options: PurgeOptions, now: number): RetentionNode[] {
    const list = this.lists[options.state];
    const cutoff = now - options.olderThanMs;
    // The oldest `total - keepLatest` go whatever their age; after them, those finished before the cutoff.
    const beyondCount = list.size - options.keepLatest;
    const out: RetentionNode[] = [];
    for (let top = list.peek(); top !== undefined && out.length < options.limit && (out.length < beyondCount || top.finishedAt < cutoff); top = list.peek()) {
      out.push(top);
      list.pop();
    }
    return out;
  }
}
