// Reclaiming expired leases (issue 12.1). A pass reads every lease (the bucket holds only leases:
// O(in-flight)), and takes each expired one by marking its entry with compare-and-set — the mark
// names the pass, so concurrent passes (one per process) report each lease exactly once, and a
// pass whose mark's answer was lost can tell by re-reading whether the mark is its own. A taken
// lease exists only in the pass's answer until it is handed back, so a pass that fails after
// taking some returns those instead of throwing them away; the leases it did not take keep their
// entries for the next pass. A marked entry whose taker died before handing it back is finished
// (and reported again, which recover tolerates: it is fenced by leaseId) by a later pass. The pass
// also frees slots whose lease was never written (a claimer died between reserving and leasing).
import { newId, transitions, type LeaseRef } from '@baton/core/adapter';
import { encodeJson } from './nats-codec.js';
import { publishEvent } from './nats-event-subjects.js';
import { decodeLease, type Lease, type LeaseEntry, type Leases } from './nats-leases.js';
import { decodeText } from './nats-codec.js';
import { isCapped, type QueueDocs } from './nats-queue-docs.js';
import type { NatsContext } from './nats-runtime.js';

/** A mark older than this is a handback whose taker stopped midway. */
const HANDBACK_GRACE_MS = 10_000;
/** A slot whose lease never appeared is freed this long after that lease would have expired. */
const HOLDER_GRACE_MS = 5_000;

interface Taken {
  taken: Lease | null;
  error?: unknown;
}

export class Reclaimer {
  constructor(
    private readonly leases: Leases,
    private readonly docs: QueueDocs,
  ) {}

  async pass(c: NatsContext, limit: number): Promise<LeaseRef[]> {
    const pass = newId();
    const all = await this.scan(c);
    const now = c.clock.now();
    const out: LeaseRef[] = [];
    // Handbacks whose taker stopped midway: a reclaim is reported again, a release is not.
    for (const l of all.filter((x) => x.value.x !== undefined && now - (x.value.xa ?? 0) > HANDBACK_GRACE_MS)) {
      if (l.value.x === 'e') {
        if (out.length >= limit) continue;
        out.push({ taskId: l.taskId, leaseId: l.value.l });
      }
      await this.leases.handBack(c, l);
    }
    const expired = all.filter((x) => x.value.x === undefined && x.value.e <= now).sort((a, b) => a.value.e - b.value.e);
    for (const [i, found] of expired.entries()) {
      if (out.length >= limit) break;
      const { taken, error } = await this.take(c, found, pass);
      if (taken) {
        this.leases.forget(taken.value.l);
        out.push({ taskId: taken.taskId, leaseId: taken.value.l });
        await this.leases.handBack(c, taken);
      }
      if (error === undefined) continue;
      if (out.length === 0) throw error;
      const reported = out.map((r) => r.taskId);
      // The expired leases this pass would still have tried.
      const left = expired
        .slice(taken ? i + 1 : i)
        .slice(0, limit - out.length)
        .map((e) => e.taskId);
      c.logger.warn({ err: error, reported, left }, 'NATS: reclaim pass stopped early; it reports the leases it took, the others stay in place for the next pass');
      return out;
    }
    await this.sweepHolders(c, all, now).catch((err: unknown) => c.logger.warn({ err }, 'NATS: could not sweep the slots of unwritten leases; the next pass retries'));
    return out;
  }

  /**
   * Marks an expired lease as taken by this pass (compare-and-set), following updates that keep the
   * same lease. `taken` is the marked entry, or null when another writer got there first (another
   * pass, an ack, an extend). When the mark's answer is lost, a re-read tells whether it landed;
   * when that cannot be read either, the lease counts as taken: reporting it twice costs a skipped
   * recover, losing one that was taken strands its task in `running`.
   */
  private async take(c: NatsContext, found: Lease, pass: string): Promise<Taken> {
    let cur: Lease | null = found;
    for (let i = 0; i < 3 && cur; i++) {
      const marked: LeaseEntry = { ...cur.value, x: 'e', xp: pass, xa: c.clock.now() };
      let rev: number | null;
      try {
        rev = await c.buckets.leases.update(cur.key, encodeJson(marked), cur.revision);
      } catch (error) {
        return { taken: await this.ifMine(c, cur, marked, pass), error };
      }
      if (rev !== null) return { taken: { ...cur, value: marked, revision: rev } };
      try {
        const fresh: Lease | null = await this.leases.read(c, found.taskId);
        cur = fresh && fresh.value.l === found.value.l && fresh.value.x === undefined && fresh.value.e <= c.clock.now() ? fresh : null;
      } catch (error) {
        // The mark was refused, so this lease is not ours to report.
        return { taken: null, error };
      }
    }
    return { taken: null };
  }

  /** After a mark whose answer was lost: the marked entry if the mark landed (or cannot be told), else null. */
  private async ifMine(c: NatsContext, cur: Lease, marked: LeaseEntry, pass: string): Promise<Lease | null> {
    try {
      const now = await this.leases.read(c, cur.taskId);
      return now !== null && now.value.xp === pass ? now : null;
    } catch (err) {
      c.logger.warn(
        { err, taskId: cur.taskId, leaseId: cur.value.l },
        'NATS: cannot tell whether a failed mark took this lease; reporting it (if its entry is still there, a later pass takes it again and recover skips it)',
      );
      return { ...cur, value: marked };
    }
  }

  /** Every lease; an entry that cannot be decoded is set aside (deleted, reported as a quarantined delivery). */
  private async scan(c: NatsContext): Promise<Lease[]> {
    const out: Lease[] = [];
    const bad: { key: string; revision: number; reason: string; raw: string }[] = [];
    await c.buckets.leases.scan('>', (e) => {
      const d = decodeLease(e);
      if (d.ok) out.push(d.value);
      else bad.push({ key: e.key, revision: e.revision, reason: d.reason, raw: decodeText(e.data) });
    });
    for (const b of bad) {
      c.logger.error({ key: b.key, reason: b.reason }, 'NATS: a lease entry cannot be decoded; it is set aside');
      const event = transitions.quarantinedEvent('delivery', b.key, b.reason, b.raw, `quarantine-lease-${c.names.prefix}-${b.revision}`, c.clock.now());
      await publishEvent(c, event);
      await c.buckets.leases.deleteRevision(b.revision);
    }
    return out;
  }

  /** Frees slots whose lease is not (or no longer) in the bucket once that lease would have expired. */
  private async sweepHolders(c: NatsContext, leases: readonly Lease[], now: number): Promise<void> {
    const live = new Set(leases.filter((l) => l.value.x === undefined).map((l) => l.value.l));
    for (const { value: doc } of await this.docs.all(c)) {
      if (!isCapped(doc.s)) continue;
      const orphans = Object.entries(doc.h)
        .filter(([leaseId, [, , exp]]) => !live.has(leaseId) && exp + HOLDER_GRACE_MS < now)
        .map(([leaseId]) => leaseId);
      if (orphans.length > 0) await this.docs.release(c, doc.name, orphans);
    }
  }
}
