// A lane's ready deliveries in claim order: one sorted run per priority rank, the ranks kept
// sorted. Deliveries mostly become ready in claim order within their rank (readiness is `now`,
// enqueue order a counter), so adding one is an append and taking the head a step of an index:
// O(1) where a heap pays O(log n) comparisons per take (a tenth of the memory backend's time per
// task with a deep queue). A delivery that goes in out of order (a delayed one promoted with its
// past due time as readiness) or leaves from the middle (cancelled) costs a binary search and a
// splice of its run.

/** What the order reads of a delivery; `before` is the claim order (a strict total order). */
export interface Ordered {
  readonly rank: number;
}

export class ReadyList<T extends Ordered> {
  private readonly runs = new Map<number, Run<T>>();
  /** The ranks that have a run, ascending: ranks[0] goes first. */
  private ranks: number[] = [];
  private count = 0;

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.count;
  }

  peek(): T | undefined {
    const rank = this.ranks[0];
    return rank === undefined ? undefined : this.runs.get(rank)!.peek();
  }

  push(item: T): void {
    let run = this.runs.get(item.rank);
    if (run === undefined) {
      run = new Run(this.before);
      this.runs.set(item.rank, run);
      const ranks = this.ranks;
      let i = ranks.length;
      while (i > 0 && ranks[i - 1]! > item.rank) i--;
      ranks.splice(i, 0, item.rank);
    }
    run.add(item);
    this.count++;
  }

  /** Removes an item that is in this list. */
  remove(item: T): void {
    const run = this.runs.get(item.rank)!;
    run.remove(item);
    this.count--;
    if (run.size === 0) {
      this.runs.delete(item.rank);
      this.ranks.splice(this.ranks.indexOf(item.rank), 1);
    }
  }
}

/** The items of one rank, sorted; `head` skips the ones taken from the front. */
class Run<T> {
  private items: T[] = [];
  private head = 0;

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length - this.head;
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  add(item: T): void {
    const items = this.items;
    if (items.length === this.head || !this.before(item, items[items.length - 1]!)) items.push(item);
    else items.splice(this.firstNotBefore(item), 0, item);
  }

  remove(item: T): void {
    const items = this.items;
    if (items[this.head] === item) {
      (items as (T | undefined)[])[this.head] = undefined;
      this.head++;
      if (this.head === items.length) {
        this.items = [];
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= items.length) {
        // Taken items are dropped in bulk once they are half the array: O(1) amortised per take.
        this.items = items.slice(this.head);
        this.head = 0;
      }
      return;
    }
    const i = this.firstNotBefore(item);
    if (items[i] !== item) throw new Error('ReadyList.remove: the item is not in this list');
    items.splice(i, 1);
  }

  /** Index of the first item from `head` that `item` does not go before (its own index when present). */
  private firstNotBefore(item: T): number {
    const items = this.items;
    let lo = this.head;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.before(items[mid]!, item)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
