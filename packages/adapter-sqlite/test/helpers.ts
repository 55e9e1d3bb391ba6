// Temp files for tests: each test gets its own directory, removed afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId, type NewTask } from '@baton/core';

export function tempDir(): { dir: string; file: (name?: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'baton-sqlite-'));
  return {
    dir,
    file: (name = 'baton.db') => join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function newTask(over: Partial<NewTask> = {}): NewTask {
  return {
    id: newId(),
    type: 'test',
    input: { n: 1 },
    idempotencyKey: `key-${newId()}`,
    keyTtlMs: 3_600_000,
    runId: null,
    phaseId: null,
    maxRetries: 3,
    budget: null,
    ...over,
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
