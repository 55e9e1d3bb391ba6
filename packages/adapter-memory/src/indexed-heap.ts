// A binary min-heap whose items know their own position, so an item can be removed or re-keyed
// in O(log n) without searching. The queue keeps every delivery in exactly one such heap (a
// lane's ready heap, the delayed heap or the lease heap), which is why one `heapIndex` per item
// is enough, and why no stale entries ever pile up.

export interface HeapNode {
  /** Position in the heap holding the item; -1 while it is in none. */
  heapIndex: number;
}

export class IndexedHeap<T extends HeapNode> {
  private readonly items: T[] = [];

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /** Removes an item that is in this heap. */
  remove(item: T): void {
    const items = this.items;
    const i = item.heapIndex;
    const last = items.pop()!;
    item.heapIndex = -1;
    if (last === item) return;
    items[i] = last;
    last.heapIndex = i;
    if (!this.up(i)) this.down(i);
  }

  /** Restores the order after the item's key changed. */
  update(item: T): void {
    if (!this.up(item.heapIndex)) this.down(item.heapIndex);
  }

  /**
   * Visits every item for which `within` holds, in no particular order. `within` must hold for an
   * item's parent whenever it holds for the item (e.g. "key ≤ x"), so a failing subtree is skipped:
   * the cost is proportional to the items visited, not to the heap.
   */
  visitWhile(within: (item: T) => boolean, visit: (item: T) => void): void {
    const items = this.items;
    const stack: number[] = items.length > 0 ? [0] : [];
    for (let i = stack.pop(); i !== undefined; i = stack.pop()) {
      const item = items[i]!;
      if (!within(item)) continue;
      visit(item);
      if (2 * i + 1 < items.length) stack.push(2 * i + 1);
      if (2 * i + 2 < items.length) stack.push(2 * i + 2);
    }
  }

  private up(start: number): boolean {
    const items = this.items;
    const item = items[start]!;
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (!this.less(item, p)) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = item;
    item.heapIndex = i;
    return i !== start;
  }

  private down(start: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[start]!;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(items[r]!, items[l]!) ? r : l;
      const child = items[c]!;
      if (!this.less(child, item)) break;
      items[i] = child;
      child.heapIndex = i;
      i = c;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}
