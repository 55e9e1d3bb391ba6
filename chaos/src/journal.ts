// The side channel that survives a SIGKILL: each worker process appends one JSON line per event
// to its own file with appendFileSync. The write() has returned before the next statement runs,
// so the line is in the kernel's page cache and a SIGKILL of the process cannot take it back
// (only a machine crash could, which this command does not simulate). One file per process: no
// interleaving between writers, and a line cut short can only be the last one of a file.
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Wall-clock time in ms with sub-ms precision, comparable across processes on one host. */
export const stamp = (): number => performance.timeOrigin + performance.now();

export type JournalEntry =
  /** The worker's Baton started: it claims work from now on. */
  | { k: 'ready'; pid: number; at: number }
  /** A handler run began; `from` is the checkpointed step it resumed from (0: none). */
  | { k: 'start'; t: string; run: string; pid: number; from: number; rec: number; att: number; at: number }
  /** Step `s` of the run was executed (its work done), before its checkpoint was saved. */
  | { k: 'step'; t: string; run: string; s: number; at: number }
  /** saveCheckpoint('step-s', …, { flush: true }) resolved: step `s` is durable. */
  | { k: 'ckpt'; t: string; run: string; s: number; at: number }
  /** The handler returned its result. */
  | { k: 'ret'; t: string; run: string; at: number }
  /** The handler threw (lease lost, backend down, …). */
  | { k: 'err'; t: string; run: string; msg: string; at: number }
  /** The engine reported task.completed for this process: its completion write was applied. */
  | { k: 'stored'; t: string; run: string | null; at: number }
  /** The resumed checkpoint did not look like one this workload writes. */
  | { k: 'bad-ckpt'; t: string; run: string; token: string; at: number };

export class JournalWriter {
  constructor(private readonly file: string) {}

  write(entry: JournalEntry): void {
    appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
  }
}

export function journalFile(dir: string, pid: number): string {
  return join(dir, `journal-${pid}.jsonl`);
}

export interface ReadJournals {
  entries: JournalEntry[];
  files: number;
  /** Lines that did not parse: the last line of a file cut by the SIGKILL mid-write. */
  torn: number;
}

export function readJournals(dir: string): ReadJournals {
  const entries: JournalEntry[] = [];
  let files = 0;
  let torn = 0;
  for (const name of readdirSync(dir)) {
    if (!/^journal-\d+\.jsonl$/.test(name)) continue;
    files++;
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (line === '') continue;
      try {
        entries.push(JSON.parse(line) as JournalEntry);
      } catch {
        torn++;
      }
    }
  }
  entries.sort((a, b) => a.at - b.at);
  return { entries, files, torn };
}
