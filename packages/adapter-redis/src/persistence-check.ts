// Redis can lose Baton's data silently: evicted keys (an idempotency key, a lease) or a restart
// with nothing persisted. At start the backend reads the settings that decide this and warns.
import type { Logger } from '@baton/core/adapter';
import type { RedisClient } from './redis-client.js';

export interface PersistenceReport {
  maxmemoryPolicy: string | null;
  appendonly: string | null;
  save: string | null;
  warnings: string[];
}

export async function checkPersistence(client: RedisClient, target: string, logger: Logger): Promise<PersistenceReport> {
  const report: PersistenceReport = { maxmemoryPolicy: null, appendonly: null, save: null, warnings: [] };
  try {
    report.maxmemoryPolicy = await configGet(client, 'maxmemory-policy');
    report.appendonly = await configGet(client, 'appendonly');
    report.save = await configGet(client, 'save');
  } catch (err) {
    if ((err as Error).name !== 'ReplyError') {
      logger.warn({ err: { message: (err as Error).message } }, `Could not check Redis persistence settings: ${target} is unreachable. Make sure maxmemory-policy is noeviction and appendonly is yes.`);
      return report;
    }
    // Managed services and ACLs often disable CONFIG; that is no reason to fail.
    logger.info(
      { err: { message: (err as Error).message } },
      `Could not read Redis persistence settings at ${target} (CONFIG GET refused). Make sure maxmemory-policy is noeviction and appendonly is yes, or Baton may lose tasks.`,
    );
    return report;
  }
  if (report.maxmemoryPolicy !== null && report.maxmemoryPolicy !== 'noeviction') {
    report.warnings.push(
      `Redis at ${target} has maxmemory-policy ${report.maxmemoryPolicy}: under memory pressure it may evict Baton keys (idempotency keys, leases, tasks). Set maxmemory-policy noeviction.`,
    );
  }
  if (report.appendonly === 'no' && (report.save === null || report.save.trim() === '')) {
    report.warnings.push(
      `Redis at ${target} persists nothing (appendonly no, no save points): every task, checkpoint and timer is lost when Redis restarts. Set appendonly yes for durable tasks.`,
    );
  } else if (report.appendonly === 'no') {
    report.warnings.push(
      `Redis at ${target} persists only RDB snapshots (appendonly no): work written since the last snapshot is lost if Redis crashes. Set appendonly yes for durable tasks.`,
    );
  }
  for (const w of report.warnings) logger.warn({ target }, w);
  return report;
}

async function configGet(client: RedisClient, name: string): Promise<string | null> {
  const reply = (await client.call('CONFIG', ['GET', name])) as string[];
  return reply.length >= 2 ? reply[1]! : null;
}
