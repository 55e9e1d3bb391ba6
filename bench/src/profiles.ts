// Profiles of one stretch of this process, for `core-costs`: a V8 CPU profile summed by where the
// time went (the core, the adapter, the garbage collector, Node itself, the benchmark), and a
// sampling heap profile summed by the function that allocated.
import { Session } from 'node:inspector/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The share of samples per part, and the functions that took the most (self time). */
export interface CpuSplit {
  parts: [string, number][];
  top: [string, number][];
}

function part(frame: ProfileNode['callFrame']): string {
  const m = /\/packages\/([^/]+)\//.exec(frame.url);
  if (m) return m[1] === 'core' ? 'core' : `adapter (${m[1]})`;
  if (frame.functionName === '(garbage collector)') return 'garbage collector';
  if (frame.url.includes('/bench/')) return 'benchmark';
  if (frame.functionName === '(idle)') return 'idle';
  return 'Node and V8 (natives, timers, program)';
}

export class CpuProfiler {
  private readonly session = new Session();
  private startedAt = 0;

  async start(): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: 200 });
    await this.session.post('Profiler.start');
    this.startedAt = performance.now();
  }

  /** Stops; only samples taken before `endedAt` (performance.now()) count, not the stop itself. */
  async stop(endedAt: number): Promise<CpuSplit> {
    const { profile } = (await this.session.post('Profiler.stop')) as unknown as { profile: Profile };
    this.session.disconnect();
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const cutoff = profile.startTime + (endedAt - this.startedAt) * 1_000;
    const parts = new Map<string, number>();
    const fns = new Map<string, number>();
    let at = profile.startTime;
    let total = 0;
    profile.samples.forEach((id, i) => {
      at += profile.timeDeltas[i] ?? 0;
      if (at > cutoff) return;
      const frame = byId.get(id)!.callFrame;
      const p = part(frame);
      parts.set(p, (parts.get(p) ?? 0) + 1);
      const fn = `${frame.functionName || '(anonymous)'} — ${p}`;
      fns.set(fn, (fns.get(fn) ?? 0) + 1);
      total++;
    });
    const share = (m: Map<string, number>, k: number): [string, number][] =>
      [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, n]) => [name, n / Math.max(1, total)]);
    return { parts: share(parts, 10), top: share(fns, 12) };
  }
}

interface HeapNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: HeapNode[];
}

/** Bytes allocated per function while it ran (objects collected since included), largest first. */
export class AllocationProfiler {
  private readonly session = new Session();

  async start(): Promise<void> {
    this.session.connect();
    // Every 256 bytes on average: fine enough for objects of a few dozen bytes.
    await this.session.post('HeapProfiler.startSampling', {
      samplingInterval: 256,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }

  async stop(): Promise<[string, number][]> {
    const { profile } = (await this.session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: HeapNode } };
    this.session.disconnect();
    const bytes = new Map<string, number>();
    const walk = (n: HeapNode): void => {
      if (n.selfSize > 0) {
        const name = `${n.callFrame.functionName || '(anonymous)'} — ${part(n.callFrame)}`;
        bytes.set(name, (bytes.get(name) ?? 0) + n.selfSize);
      }
      for (const c of n.children) walk(c);
    };
    walk(profile.head);
    return [...bytes].sort((a, b) => b[1] - a[1]);
  }
}
