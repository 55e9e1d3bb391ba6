// Lets tasks.finish and queue.ack share one round trip: when finish completes a task under a
// lease, the same statement deletes that lease's delivery and records it here, so the ack that
// follows answers from memory. Bounded, so acks that never come cannot grow it.
const MAX_ENTRIES = 50_000;

export class AckLedger {
  private readonly acked = new Set<string>();

  add(taskId: string, leaseId: string): void {
    if (this.acked.size >= MAX_ENTRIES) {
      const oldest = this.acked.values().next();
      if (!oldest.done) this.acked.delete(oldest.value);
    }
    this.acked.add(key(taskId, leaseId));
  }

  /** True (once) when finish already removed this delivery. */
  take(taskId: string, leaseId: string): boolean {
    return this.acked.delete(key(taskId, leaseId));
  }
}

function key(taskId: string, leaseId: string): string {
  return `${leaseId}\u0000${taskId}`;
}
