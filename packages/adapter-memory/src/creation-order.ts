// Task ids in creation order, so a page can resume after a cursor with a binary search instead
// of walking every older task. Append-only: a deleted task's entry is found by its order (a
// binary search) and left as a hole that readers skip, and holes are compacted away once they
// are the majority — without looking a single task up, which retention does for thousands of
// tasks a pass.

export class CreationOrder {
  private orders: number[] = [];
  /** null: a hole, the task deleted. */
  private ids: (string | null)[] = [];
  private holes = 0;

  /** `live(id, order)`: whether the task with that id still exists with that creation order. */
  constructor(private readonly live: (id: string, order: number) => boolean) {}

  /** Orders must be added increasing. */
  add(id: string, order: number): void {
    this.orders.push(order);
    this.ids.push(id);
  }

  /** The task created with `order` was deleted. */
  removed(order: number): void {
    const i = this.indexAfter(order - 1);
    if (this.orders[i] !== order || this.ids[i] === null) return;
    this.ids[i] = null;
    this.holes++;
    if (this.holes > 1024 && this.holes * 2 > this.ids.length) this.compact();
  }

  /** Calls `visit` with each live id created after `after`, oldest first, until it returns false. */
  scan(after: number, visit: (id: string) => boolean): void {
    const { orders, ids } = this;
    for (let i = this.indexAfter(after); i < ids.length; i++) {
      const id = ids[i]!;
      if (id === null || !this.live(id, orders[i]!)) continue;
      if (!visit(id)) return;
    }
  }

  /** Index of the first entry with an order greater than `after`. */
  private indexAfter(after: number): number {
    const orders = this.orders;
    let lo = 0;
    let hi = orders.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (orders[mid]! <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private compact(): void {
    const orders: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < this.ids.length; i++) {
      const id = this.ids[i]!;
      if (id === null) continue;
      orders.push(this.orders[i]!);
      ids.push(id);
    }
    this.orders = orders;
    this.ids = ids;
    this.holes = 0;
  }
}
