// What the recovery test's worker processes open: the backend of a kind at a location (a file, a
// schema), the same way the test process opens it.
import type { Backend } from '@baton/core';
import { backendTargets } from './backends.js';

export async function makeBackend(kind: string, location: string): Promise<Backend> {
  const target = (await backendTargets({ multiProcess: true })).targets.find((t) => t.name === kind);
  if (!target) throw new Error(`no multi-process backend "${kind}" on ports v2 in this checkout`);
  return target.create(location);
}
