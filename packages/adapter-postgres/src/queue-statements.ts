// The Queue's statements. A task's delivery lives in its own row (q_* columns, waiting in the
// task's queue), so the fused TaskFlow operations change queue and task state in one row write;
// ids without a task row use the `deliveries` table. Each statement covers both homes; array-
// driven ones also filter `= ANY(ids)` so the primary keys find the rows whatever the table
// statistics say. Claims go through the schema's claim() function. Leases and due times use the
// database clock. Statements that make work claimable NOTIFY the channel with the queue's name;
// ones that free a slot NOTIFY only queues with a concurrency or group cap (claimers of other
// queues never wait for a slot), so the hot path sends no notification at all.

/**
 * CTE `freed`: notifies each capped queue named in CTE `from` (column `queue`) that a slot came
 * free. Driven by the (small, usually empty) settings table, so where no queue has a cap the
 * statement's own rows are never even scanned for it.
 */
export const FREED = (channel: string, from: string): string => `freed AS (
    SELECT pg_notify('${channel}', s.name) FROM :SCHEMA:.queue_settings s
    WHERE (s.concurrency IS NOT NULL OR s.group_concurrency IS NOT NULL) AND EXISTS (SELECT 1 FROM ${from} f WHERE f.queue = s.name)
  )`;

export const queueSql = (channel: string) => ({
  // $1 items, $2 their ids. A task row takes the delivery in its own row (its queue), unless it
  // already has one there or in the deliveries table; other ids go to the deliveries table.
  enqueue: `
    WITH items AS (
      SELECT * FROM ROWS FROM (json_to_recordset($1::json) AS (task_id text, queue text, priority integer, group_key text, delay_ms float8))
        WITH ORDINALITY AS i(task_id, queue, priority, group_key, delay_ms, ord)
    ), own AS (
      UPDATE :SCHEMA:.tasks t SET q_ready_at = statement_timestamp() + i.delay_ms * interval '1 millisecond'
      FROM items i
      WHERE t.id = ANY($2::text[]) AND t.id = i.task_id AND t.q_ready_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM :SCHEMA:.deliveries d WHERE d.task_id = t.id)
      RETURNING t.queue
    ), other AS (
      INSERT INTO :SCHEMA:.deliveries (task_id, queue, priority, group_key, ready_at)
      SELECT i.task_id, i.queue, i.priority, i.group_key, statement_timestamp() + i.delay_ms * interval '1 millisecond'
      FROM items i
      WHERE NOT (i.task_id = ANY(ARRAY(SELECT t.id FROM :SCHEMA:.tasks t WHERE t.id = ANY($2::text[]))))
      ORDER BY i.ord
      ON CONFLICT (task_id) DO NOTHING
      RETURNING queue
    )
    SELECT x.queue, pg_notify('${channel}', x.queue) FROM (SELECT queue FROM own UNION SELECT queue FROM other) x`,
  claim: `SELECT * FROM :SCHEMA:.claim($1::text[], $2, $3, $4, $5)`,
  nextDue: `SELECT :SCHEMA:.next_due($1::text[]) AS ms`,
  ack: `
    WITH r AS (
      SELECT * FROM unnest($1::text[], $2::text[]) AS r(task_id, lease_id)
    ), own AS (
      UPDATE :SCHEMA:.tasks t SET q_ready_at = NULL, q_lease_id = NULL, q_lease_expires_at = NULL
      FROM r WHERE t.id = ANY($1::text[]) AND t.id = r.task_id AND t.q_lease_id = r.lease_id
      RETURNING t.id AS task_id, r.lease_id, t.queue
    ), other AS (
      DELETE FROM :SCHEMA:.deliveries d USING r
      WHERE d.task_id = ANY($1::text[]) AND d.task_id = r.task_id AND d.lease_id = r.lease_id
      RETURNING d.task_id, d.lease_id, d.queue
    ), acked AS (
      SELECT * FROM own UNION ALL SELECT * FROM other
    ), ${FREED(channel, 'acked')}
    SELECT task_id, lease_id, (SELECT count(*) FROM freed) AS freed FROM acked`,
  release: `
    WITH r AS (
      SELECT * FROM unnest($1::text[], $2::text[], $3::float8[]) AS r(task_id, lease_id, delay_ms)
    ), own AS (
      UPDATE :SCHEMA:.tasks t
      SET q_lease_id = NULL, q_lease_expires_at = NULL, q_ready_at = statement_timestamp() + r.delay_ms * interval '1 millisecond'
      FROM r WHERE t.id = ANY($1::text[]) AND t.id = r.task_id AND t.q_lease_id = r.lease_id
      RETURNING t.id AS task_id, r.lease_id, t.queue
    ), other AS (
      UPDATE :SCHEMA:.deliveries d
      SET lease_id = NULL, lease_expires_at = NULL, ready_at = statement_timestamp() + r.delay_ms * interval '1 millisecond'
      FROM r WHERE d.task_id = ANY($1::text[]) AND d.task_id = r.task_id AND d.lease_id = r.lease_id
      RETURNING d.task_id, r.lease_id, d.queue
    ), released AS (
      SELECT * FROM own UNION ALL SELECT * FROM other
    ), announced AS (
      SELECT pg_notify('${channel}', x.queue) FROM (SELECT DISTINCT queue FROM released) x
    )
    SELECT task_id, lease_id, queue, (SELECT count(*) FROM announced) AS announced FROM released`,
  extend: `
    WITH r AS (
      SELECT * FROM unnest($1::text[], $2::text[]) AS r(task_id, lease_id)
    ), own AS (
      UPDATE :SCHEMA:.tasks t SET q_lease_expires_at = clock_timestamp() + $3 * interval '1 millisecond'
      FROM r WHERE t.id = ANY($1::text[]) AND t.id = r.task_id AND t.q_lease_id = r.lease_id
      RETURNING t.id AS task_id, r.lease_id
    ), other AS (
      UPDATE :SCHEMA:.deliveries d SET lease_expires_at = clock_timestamp() + $3 * interval '1 millisecond'
      FROM r WHERE d.task_id = ANY($1::text[]) AND d.task_id = r.task_id AND d.lease_id = r.lease_id
      RETURNING d.task_id, r.lease_id
    )
    SELECT * FROM own UNION ALL SELECT * FROM other`,
  // The stalled-lease query: leases past expiry by the database clock, back to ready (their
  // ready time is kept, so they go back to the front of their priority) and their slots freed.
  // One statement: a pass that fails changes nothing, so nothing it took is lost.
  reclaimExpired: `
    WITH own AS (
      SELECT t.id, t.q_lease_id AS lease_id FROM :SCHEMA:.tasks t
      WHERE t.q_lease_id IS NOT NULL AND t.q_lease_expires_at <= now()
      -- The leased index's own order: a walk of that index (the leased rows only, each one's
      -- expiry read from the row, which keeps lease extensions HOT), never the table, no sort.
      ORDER BY t.queue, t.group_key
      LIMIT $1
      FOR UPDATE SKIP LOCKED
    ), other AS (
      SELECT d.task_id AS id, d.lease_id FROM :SCHEMA:.deliveries d
      WHERE d.lease_id IS NOT NULL AND d.lease_expires_at <= now()
      ORDER BY d.queue, d.group_key
      LIMIT $1
      FOR UPDATE SKIP LOCKED
    ), chosen AS MATERIALIZED (
      SELECT * FROM (SELECT true AS mine, o.* FROM own o UNION ALL SELECT false, x.* FROM other x) c LIMIT $1
    ), own_back AS (
      UPDATE :SCHEMA:.tasks t SET q_lease_id = NULL, q_lease_expires_at = NULL
      FROM chosen c WHERE c.mine AND t.id = ANY(ARRAY(SELECT id FROM chosen WHERE mine)) AND t.id = c.id
      RETURNING c.id, c.lease_id, t.queue
    ), other_back AS (
      UPDATE :SCHEMA:.deliveries d SET lease_id = NULL, lease_expires_at = NULL
      FROM chosen c WHERE NOT c.mine AND d.task_id = ANY(ARRAY(SELECT id FROM chosen WHERE NOT mine)) AND d.task_id = c.id
      RETURNING c.id, c.lease_id, d.queue
    ), back AS (
      SELECT * FROM own_back UNION ALL SELECT * FROM other_back
    ), announced AS (
      SELECT pg_notify('${channel}', x.queue) FROM (SELECT DISTINCT queue FROM back) x
    )
    SELECT id AS task_id, lease_id, (SELECT count(*) FROM announced) AS announced FROM back`,
  remove: `
    WITH own AS (
      UPDATE :SCHEMA:.tasks SET q_ready_at = NULL, q_lease_id = NULL, q_lease_expires_at = NULL
      WHERE id = ANY($1::text[]) AND q_ready_at IS NOT NULL
      RETURNING queue
    ), other AS (
      DELETE FROM :SCHEMA:.deliveries WHERE task_id = ANY($1::text[]) RETURNING queue
    ), gone AS (
      SELECT * FROM own UNION ALL SELECT * FROM other
    ), ${FREED(channel, 'gone')}
    SELECT count(*)::int AS n, (SELECT count(*) FROM freed) AS freed FROM gone`,
  // Each count walks one partial index (the claim or the leased one), never the whole table.
  depth: `
    SELECT
      (SELECT count(*) FROM :SCHEMA:.tasks WHERE q_ready_at IS NOT NULL AND q_lease_id IS NULL AND q_ready_at <= now())::int
        + (SELECT count(*) FROM :SCHEMA:.deliveries WHERE lease_id IS NULL AND ready_at <= now())::int AS ready,
      (SELECT count(*) FROM :SCHEMA:.tasks WHERE q_lease_id IS NOT NULL)::int
        + (SELECT count(*) FROM :SCHEMA:.deliveries WHERE lease_id IS NOT NULL)::int AS leased,
      (SELECT count(*) FROM :SCHEMA:.tasks WHERE q_lease_id IS NOT NULL AND q_lease_expires_at <= now())::int
        + (SELECT count(*) FROM :SCHEMA:.deliveries WHERE lease_id IS NOT NULL AND lease_expires_at <= now())::int AS expired,
      (SELECT count(*) FROM :SCHEMA:.tasks WHERE q_ready_at IS NOT NULL AND q_lease_id IS NULL AND q_ready_at > now())::int
        + (SELECT count(*) FROM :SCHEMA:.deliveries WHERE lease_id IS NULL AND ready_at > now())::int AS delayed`,
  queues: `
    WITH d AS (
      SELECT t.queue, count(*) FILTER (WHERE t.q_ready_at <= now()) AS ready, 0 AS leased, 0 AS expired, count(*) FILTER (WHERE t.q_ready_at > now()) AS delayed
      FROM :SCHEMA:.tasks t WHERE t.q_ready_at IS NOT NULL AND t.q_lease_id IS NULL GROUP BY t.queue
      UNION ALL
      SELECT t.queue, 0, count(*), count(*) FILTER (WHERE t.q_lease_expires_at <= now()), 0
      FROM :SCHEMA:.tasks t WHERE t.q_lease_id IS NOT NULL GROUP BY t.queue
      UNION ALL
      SELECT x.queue, count(*) FILTER (WHERE x.ready_at <= now()), 0, 0, count(*) FILTER (WHERE x.ready_at > now())
      FROM :SCHEMA:.deliveries x WHERE x.lease_id IS NULL GROUP BY x.queue
      UNION ALL
      SELECT x.queue, 0, count(*), count(*) FILTER (WHERE x.lease_expires_at <= now()), 0
      FROM :SCHEMA:.deliveries x WHERE x.lease_id IS NOT NULL GROUP BY x.queue
    ), a AS (
      SELECT queue, sum(ready)::int AS ready, sum(leased)::int AS leased, sum(expired)::int AS expired, sum(delayed)::int AS delayed
      FROM d GROUP BY queue
    )
    SELECT coalesce(a.queue, s.name) AS name, coalesce(s.paused, false) AS paused, s.concurrency, s.group_concurrency,
      s.rate_max, s.rate_per_ms::float8 AS rate_per_ms,
      coalesce(a.ready, 0) AS ready, coalesce(a.leased, 0) AS leased, coalesce(a.expired, 0) AS expired, coalesce(a.delayed, 0) AS delayed
    FROM a FULL JOIN :SCHEMA:.queue_settings s ON s.name = a.queue
    ORDER BY 1`,
  // Merges a patch ($2/$4/$6/$8: whether each setting is given) into the queue's settings. A rate
  // limit set anew starts with a full bucket; a changed one keeps how far ahead of now the claims
  // already made reach. Wakes the queue's claimers (resumed or raised limits may let them through).
  configure: `
    WITH up AS (
      INSERT INTO :SCHEMA:.queue_settings AS s (name, paused, concurrency, group_concurrency, rate_max, rate_per_ms)
      VALUES ($1, CASE WHEN $2::boolean THEN $3::boolean ELSE false END, CASE WHEN $4::boolean THEN $5::integer END,
        CASE WHEN $6::boolean THEN $7::integer END, CASE WHEN $8::boolean THEN $9::integer END, CASE WHEN $8::boolean THEN $10::bigint END)
      ON CONFLICT (name) DO UPDATE SET
        paused = CASE WHEN $2::boolean THEN $3::boolean ELSE s.paused END,
        concurrency = CASE WHEN $4::boolean THEN $5::integer ELSE s.concurrency END,
        group_concurrency = CASE WHEN $6::boolean THEN $7::integer ELSE s.group_concurrency END,
        rate_max = CASE WHEN $8::boolean THEN $9::integer ELSE s.rate_max END,
        rate_per_ms = CASE WHEN $8::boolean THEN $10::bigint ELSE s.rate_per_ms END,
        rate_tat = CASE
          WHEN NOT $8::boolean THEN s.rate_tat
          WHEN $9::integer IS NULL OR s.rate_max IS NULL OR s.rate_tat IS NULL THEN NULL
          ELSE floor(extract(epoch FROM now()) * 1000)::bigint * $9::integer
            + ceil(greatest(0, s.rate_tat::numeric / s.rate_max - floor(extract(epoch FROM now()) * 1000)) * $9::integer)::bigint
        END,
        updated_at = clock_timestamp()
      RETURNING s.paused, s.concurrency, s.group_concurrency, s.rate_max, s.rate_per_ms::float8 AS rate_per_ms
    ), announced AS (
      SELECT pg_notify('${channel}', $1) FROM up
    )
    SELECT up.*, (SELECT count(*) FROM announced) AS announced FROM up`,
});
