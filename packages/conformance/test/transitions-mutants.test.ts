// The field-level lifecycle suite must fail on stores that get one field wrong. Each mutant is
// the memory backend with one fault injected into what its TaskStore returns; checkChange must
// reject it and name the field.
import { describe, expect, it } from 'vitest';
import { silentLogger, type Backend, type StoredError, type TaskRecord } from '@baton/core/adapter';
import { checkChange, LIFECYCLE_CHANGES, type LifecycleChange } from '@baton/conformance';
import { memoryBackend } from '@baton/memory';

const stale: StoredError = { name: 'Error', message: 'an earlier failure', code: null, stack: null };

/** The backend with every record read through `edit` (a store that writes that field wrongly). */
function mutant(b: Backend, edit: (r: TaskRecord) => TaskRecord): Backend {
  const tasks = new Proxy(b.tasks, {
    get(target, prop) {
      if (prop === 'get') return async (id: string) => {
        const r = await target.get(id);
        return r === null ? null : edit(r);
      };
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { ...b, tasks };
}

function change(prefix: string): LifecycleChange {
  const found = LIFECYCLE_CHANGES.find((c) => c.name.startsWith(prefix));
  if (found === undefined) throw new Error(`no lifecycle change named "${prefix}…"`);
  return found;
}

async function fresh(): Promise<Backend> {
  const b = memoryBackend();
  await b.ready({ logger: silentLogger });
  return b;
}

describe('the lifecycle suite fails on a store that writes one field wrongly', () => {
  it('passes on the memory backend itself', async () => {
    for (const c of LIFECYCLE_CHANGES) await checkChange(await fresh(), c);
  });

  it('fails on a store that keeps workerId after finish, naming workerId', async () => {
    const b = mutant(await fresh(), (r) => (r.state === 'completed' ? { ...r, workerId: 'worker-kept' } : r));
    await expect(checkChange(b, change('finish as completed on the first run'))).rejects.toThrow(/workerId/);
  });

  it('fails on a store that keeps error after a completion, naming error', async () => {
    const b = mutant(await fresh(), (r) => (r.state === 'completed' ? { ...r, error: stale } : r));
    await expect(checkChange(b, change('finish as completed after a retry'))).rejects.toThrow(/error/);
  });

  it('fails on a store that moves updatedAt on a heartbeat, naming updatedAt', async () => {
    const b = mutant(await fresh(), (r) => (r.state === 'running' ? { ...r, updatedAt: r.heartbeatAt! } : r));
    await expect(checkChange(b, change('heartbeat sets heartbeatAt'))).rejects.toThrow(/updatedAt/);
  });

  it('fails on a store that composes its own poison pill, naming error', async () => {
    const b = mutant(await fresh(), (r) => (r.error?.code === 'POISON_PILL' ? { ...r, error: { ...r.error, message: 'store-made' } } : r));
    await expect(checkChange(b, change('recover at maxRecoveries'))).rejects.toThrow(/error/);
  });

  it('fails on a store whose finish does not stamp updatedAt, naming updatedAt', async () => {
    const b = mutant(await fresh(), (r) => (r.state === 'completed' ? { ...r, updatedAt: r.startedAt! } : r));
    await expect(checkChange(b, change('finish as completed on the first run'))).rejects.toThrow(/updatedAt/);
  });

  it('fails on a store that leaves out a field, naming it', async () => {
    const b = mutant(await fresh(), ({ heartbeatAt: _dropped, ...r }) => r as TaskRecord);
    await expect(checkChange(b, change('start moves a pending task'))).rejects.toThrow(/heartbeatAt/);
  });

  it('fails on a store that changes a record whose finish it refused', async () => {
    const b = await fresh();
    const refused = new Set<string>();
    const finish = b.tasks.finish.bind(b.tasks);
    const leaky = mutant(b, (r) => (refused.has(r.id) ? { ...r, recoveries: r.recoveries + 1 } : r));
    const tasks = Object.assign(Object.create(leaky.tasks) as Backend['tasks'], {
      finish: async (outcomes: Parameters<Backend['tasks']['finish']>[0]) => {
        const applied = await finish(outcomes);
        outcomes.forEach((o, i) => (applied[i] ? undefined : refused.add(o.taskId)));
        return applied;
      },
    });
    await expect(checkChange({ ...leaky, tasks }, change('finish under a lease that moved on'))).rejects.toThrow(/recoveries/);
  });
});
