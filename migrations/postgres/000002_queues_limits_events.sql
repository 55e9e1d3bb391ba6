-- Baton on PostgreSQL, schema version 2: named queues with priorities, fleet-wide limits and
-- pause, a coordination store, progress / heartbeat / trace context on the task row, JSON kept
-- as the exact text written, events written with the change they record, quarantined records.
-- Applied in place on a populated version-1 schema, in one transaction: queued tasks land in
-- queue 'default' at priority 0, running tasks keep running.

-- Task rows. Every JSON column becomes text holding the JSON exactly as written (key order,
-- `__proto__` keys and `\u0000` escapes included, which JSONB cannot keep): a reader gets back
-- the text that was sent, and a value that cannot be decoded is quarantined at its record
-- instead of failing the statement that reads it. Query them with a cast: `input::json->'x'`.
-- One ALTER: one rewrite of the table.
DROP VIEW :SCHEMA:.active_tasks;
ALTER TABLE :SCHEMA:.tasks
  ALTER COLUMN input TYPE text USING input::text,
  ALTER COLUMN result TYPE text USING result::text,
  ALTER COLUMN error TYPE text USING error::text,
  ALTER COLUMN budget TYPE text USING budget::text,
  ADD COLUMN queue text NOT NULL DEFAULT 'default',
  ADD COLUMN priority integer NOT NULL DEFAULT 0,
  ADD COLUMN group_key text,
  -- The last value the handler reported (ctx.reportProgress), as JSON text.
  ADD COLUMN progress text,
  -- Last heartbeat of the current run (tasks.heartbeat), whichever store holds the queue.
  ADD COLUMN heartbeat_at timestamptz,
  -- Propagation fields stored at enqueue (a W3C traceparent), as a JSON object.
  ADD COLUMN trace_context text,
  -- Set when the row was quarantined: { field, reason, raw } as JSON.
  ADD COLUMN corruption text;

-- Running tasks of version 1 never had a heartbeat on the row: their start is the best we know.
UPDATE :SCHEMA:.tasks SET heartbeat_at = started_at WHERE state = 'running';

-- claim(): ready deliveries of one queue, highest priority first, then oldest readiness, then
-- creation order (an index scan per listed queue, stopping at the claim's limit).
DROP INDEX :SCHEMA:.tasks_ready_idx;
CREATE INDEX tasks_claim_idx ON :SCHEMA:.tasks (queue, priority DESC, q_ready_at, seq) WHERE q_ready_at IS NOT NULL AND q_lease_id IS NULL;
-- Leased deliveries by queue and group: the claim counts a limited queue's (and group's) slots
-- on it; reclaimExpired and depth() read it whole (it holds only the leased rows). Replaces the
-- expiry-only index of version 1, so a task row carries no more index entries than before.
DROP INDEX :SCHEMA:.tasks_leased_idx;
CREATE INDEX tasks_leased_idx ON :SCHEMA:.tasks (queue, group_key, q_lease_expires_at) WHERE q_lease_id IS NOT NULL;

-- Deliveries of ids without a task row carry the queue, priority and group their item named.
ALTER TABLE :SCHEMA:.deliveries
  ADD COLUMN queue text NOT NULL DEFAULT 'default',
  ADD COLUMN priority integer NOT NULL DEFAULT 0,
  ADD COLUMN group_key text;
DROP INDEX :SCHEMA:.deliveries_ready_idx;
CREATE INDEX deliveries_claim_idx ON :SCHEMA:.deliveries (queue, priority DESC, ready_at, seq) WHERE lease_id IS NULL;
DROP INDEX :SCHEMA:.deliveries_lease_idx;
CREATE INDEX deliveries_leased_idx ON :SCHEMA:.deliveries (queue, group_key, lease_expires_at) WHERE lease_id IS NOT NULL;

-- Fleet-wide settings of the queues that have any (a queue without a row has the defaults:
-- not paused, no limits). The claim reads this table once per call and locks the row of a
-- limited queue, so the claimers of that queue count its slots and spend its tokens one at a
-- time; claims of unlimited queues take no lock.
CREATE TABLE :SCHEMA:.queue_settings (
  name               text PRIMARY KEY,
  paused             boolean NOT NULL DEFAULT false,
  concurrency        integer CHECK (concurrency > 0),
  group_concurrency  integer CHECK (group_concurrency > 0),
  -- Token bucket (GCRA) of rate_max claims per rate_per_ms on the database clock: rate_tat is
  -- the theoretical arrival time of the next claim in units of 1/rate_max ms since the epoch
  -- (integers, so a full bucket lets exactly rate_max claims through); NULL: the bucket is full.
  rate_max           integer CHECK (rate_max > 0),
  rate_per_ms        bigint CHECK (rate_per_ms > 0),
  rate_tat           bigint,
  updated_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK ((rate_max IS NULL) = (rate_per_ms IS NULL))
);

-- CoordinationStore: small versioned documents (fleet-wide circuit breakers). Keys compare
-- bytewise ("C"), so scan order is key order and a prefix is a plain range.
CREATE TABLE :SCHEMA:.coordination (
  key         text COLLATE "C" PRIMARY KEY,
  value       text NOT NULL,
  version     bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Events are now written by the statement that makes the change they record, so no lock can
-- order them by commit any more (it would serialise every write of the fleet). Instead each
-- statement that appends takes one number from events_block and numbers its events
-- block * 65536 + their position in the write: seq is strictly increasing in append order and one
-- call's events are contiguous (no other call's event falls between them; positions of items
-- that did not apply are simply skipped), at the cost of one sequence call per statement
-- instead of one per row.
ALTER TABLE :SCHEMA:.events ALTER COLUMN seq DROP IDENTITY;
ALTER TABLE :SCHEMA:.events
  ALTER COLUMN data DROP DEFAULT,
  ALTER COLUMN data TYPE text USING data::text,
  ALTER COLUMN data SET DEFAULT '{}';
CREATE SEQUENCE :SCHEMA:.events_block;
SELECT setval(':SCHEMA:.events_block', coalesce((SELECT max(seq) FROM :SCHEMA:.events), 0) / 65536 + 1, false);

-- Timer payloads keep their exact JSON text too.
ALTER TABLE :SCHEMA:.timers
  ALTER COLUMN payload DROP DEFAULT,
  ALTER COLUMN payload TYPE text USING payload::text,
  ALTER COLUMN payload SET DEFAULT 'null';

-- The claim: in one transaction, leases up to n ready deliveries of the listed queues (highest
-- priority first, then oldest readiness, then enqueue order), skipping paused queues and staying
-- within each limited queue's concurrency, group caps and rate limit; with a worker id it also
-- starts each claimed pending task under its delivery's lease and, with started_events, appends
-- its task.started event. A delivery whose task id or position cannot be a real one is never
-- handed out: it is removed and reported as record.quarantined.
--
-- FOR UPDATE SKIP LOCKED per queue, so concurrent claimers never wait on or share a row. The
-- planner settings pin the plan to index scans and nested loops: on a table without statistics
-- yet (a fresh schema under load) the planner would otherwise read and sort every ready row.
DROP FUNCTION :SCHEMA:.claim(integer, double precision, text);
-- What the claim's selection hands to its leasing step, in claim order.
CREATE TYPE :SCHEMA:.claim_pick AS (id text, mine boolean, queue text, prior text, prior_lease text);
CREATE FUNCTION :SCHEMA:.claim(qs text[], n integer, lease_ms double precision, worker text, started_events boolean)
RETURNS TABLE (
  pos bigint, task_id text, delivery_lease text, prior_state text, prior_lease text, started boolean,
  id text, type text, queue text, priority integer, group_key text, input text, state text,
  idempotency_key text, run_id text, phase_id text, attempt integer, max_retries integer,
  recoveries integer, budget text, cost_usd double precision, tokens double precision,
  progress text, lease_id text, worker_id text, has_checkpoint boolean, result text, error text,
  duration_ms double precision, created_at double precision, updated_at double precision,
  started_at double precision, heartbeat_at double precision, finished_at double precision,
  trace_context text, corruption text)
LANGUAGE plpgsql
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
SET enable_hashjoin = off
SET enable_mergejoin = off
-- The disabled paths' cost penalties would otherwise trigger JIT compilation on every call.
SET jit = off
AS $fn$
#variable_conflict use_column
DECLARE
  -- Per listed queue that may hand out work now: its name, how many it may hand out, its group cap.
  lq text[] := '{}';
  ll integer[] := '{}';
  lg integer[] := '{}';
  -- Leased deliveries per (queue, group) of the group-capped queues.
  hq text[] := '{}';
  hg text[] := '{}';
  hc integer[] := '{}';
  rated text[] := '{}';
  g_names text[];
  g_counts integer[];
  s record;
  cfg record;
  room integer;
  gcap integer;
  now_units bigint;
  limited boolean := false;
  picks :SCHEMA:.claim_pick[];
  bad_ids text[];
BEGIN
  -- A claim needs no fsync of its own: if a crash forgets it, the deliveries are simply claimed
  -- again (at-least-once), and any later durable write of the worker flushes it first.
  PERFORM set_config('synchronous_commit', 'off', true);
  IF n <= 0 OR cardinality(qs) = 0 THEN RETURN; END IF;
  IF NOT EXISTS (SELECT 1 FROM :SCHEMA:.queue_settings c WHERE c.name = ANY(qs)) THEN
    lq := qs;
    ll := array_fill(n, ARRAY[cardinality(qs)]);
    lg := array_fill(NULL::integer, ARRAY[cardinality(qs)]);
  ELSE
    limited := true;
    -- Rows of limited queues are locked in name order: claimers never deadlock on them.
    FOR s IN
      SELECT x.name, c.paused, c.concurrency, c.group_concurrency, c.rate_max
      FROM unnest(qs) AS x(name) LEFT JOIN :SCHEMA:.queue_settings c ON c.name = x.name
      ORDER BY x.name COLLATE "C"
    LOOP
      CONTINUE WHEN s.paused IS TRUE;
      room := n;
      gcap := NULL;
      IF s.concurrency IS NOT NULL OR s.group_concurrency IS NOT NULL OR s.rate_max IS NOT NULL THEN
        SELECT x.name, x.paused, x.concurrency, x.group_concurrency, x.rate_max, x.rate_per_ms, x.rate_tat INTO cfg
        FROM :SCHEMA:.queue_settings x WHERE x.name = s.name FOR UPDATE;
        -- Under the lock, the next statements' snapshots see every claim and release committed before.
        CONTINUE WHEN cfg.paused;
        gcap := cfg.group_concurrency;
        IF cfg.concurrency IS NOT NULL THEN
          room := least(room, cfg.concurrency
            - (SELECT count(*) FROM :SCHEMA:.tasks t WHERE t.queue = cfg.name AND t.q_lease_id IS NOT NULL)::integer
            - (SELECT count(*) FROM :SCHEMA:.deliveries d WHERE d.queue = cfg.name AND d.lease_id IS NOT NULL)::integer);
        END IF;
        IF cfg.rate_max IS NOT NULL AND room > 0 THEN
          now_units := floor(extract(epoch FROM now()) * 1000)::bigint * cfg.rate_max;
          -- Claims that fit before the bucket is empty: the next arrival may be at most
          -- rate_per_ms * (rate_max - 1) units ahead of now.
          room := least(room, greatest(0, floor((cfg.rate_per_ms * (cfg.rate_max - 1) - (greatest(coalesce(cfg.rate_tat, now_units), now_units) - now_units))::numeric / cfg.rate_per_ms)::integer + 1));
          IF room > 0 THEN rated := rated || cfg.name; END IF;
        END IF;
        IF cfg.group_concurrency IS NOT NULL AND room > 0 THEN
          SELECT coalesce(array_agg(g.grp), '{}'), coalesce(array_agg(g.cnt), '{}') INTO g_names, g_counts
          FROM (
            SELECT u.grp, sum(u.cnt)::integer AS cnt FROM (
              SELECT t.group_key AS grp, count(*) AS cnt FROM :SCHEMA:.tasks t
              WHERE t.queue = cfg.name AND t.q_lease_id IS NOT NULL AND t.group_key IS NOT NULL GROUP BY t.group_key
              UNION ALL
              SELECT d.group_key, count(*) FROM :SCHEMA:.deliveries d
              WHERE d.queue = cfg.name AND d.lease_id IS NOT NULL AND d.group_key IS NOT NULL GROUP BY d.group_key
            ) u GROUP BY u.grp
          ) g;
          hq := hq || array_fill(cfg.name, ARRAY[cardinality(g_names)]);
          hg := hg || g_names;
          hc := hc || g_counts;
        END IF;
      END IF;
      IF room > 0 THEN
        lq := lq || s.name;
        ll := ll || room;
        lg := lg || gcap;
      END IF;
    END LOOP;
    IF cardinality(lq) = 0 THEN RETURN; END IF;
  END IF;

  -- Candidates: up to n (or the queue's room) from the task rows and from the deliveries table
  -- of each listed queue, locked; groups already at their cap are skipped inside the scan, so
  -- they never starve the others. Then the best n, within each queue's room and each group's
  -- remaining slots. Claims of unlimited queues (the hot path) skip that arithmetic.
  IF NOT limited THEN
    WITH cand AS (
      SELECT true AS mine, o.id, o.queue, o.priority, o.q_ready_at AS ready_at, o.seq, o.state, o.lease_id, false AS bad
      FROM unnest(lq) AS l(q) CROSS JOIN LATERAL (
        SELECT t.id, t.queue, t.priority, t.q_ready_at, t.seq, t.state, t.lease_id FROM :SCHEMA:.tasks t
        WHERE t.queue = l.q AND t.q_ready_at <= now() AND t.q_lease_id IS NULL
        ORDER BY t.priority DESC, t.q_ready_at, t.seq
        LIMIT n
        FOR UPDATE OF t SKIP LOCKED
      ) o
      UNION ALL
      SELECT false, d.task_id, d.queue, d.priority, d.ready_at, d.seq, NULL, NULL, NOT (char_length(d.task_id) BETWEEN 1 AND 200 AND d.task_id !~ '[\x01-\x1f\x7f]' AND d.priority BETWEEN -10000 AND 10000 AND isfinite(d.ready_at))
      FROM unnest(lq) AS l(q) CROSS JOIN LATERAL (
        SELECT x.task_id, x.queue, x.priority, x.ready_at, x.seq FROM :SCHEMA:.deliveries x
        WHERE x.queue = l.q AND x.ready_at <= now() AND x.lease_id IS NULL
        ORDER BY x.priority DESC, x.ready_at, x.seq
        LIMIT n
        FOR UPDATE OF x SKIP LOCKED
      ) d
    )
    SELECT array_agg((k.id, k.mine, k.queue, k.state, k.lease_id):::SCHEMA:.claim_pick ORDER BY k.priority DESC, k.ready_at, k.seq, k.mine DESC),
           (SELECT array_agg(b.id) FROM cand b WHERE b.bad)
    INTO picks, bad_ids
    FROM (SELECT * FROM cand c WHERE NOT c.bad ORDER BY c.priority DESC, c.ready_at, c.seq, c.mine DESC LIMIT n) k;
  ELSE
    WITH l AS (
      SELECT * FROM unnest(lq, ll, lg) AS l(q, lim, gcap)
    ), held AS (
      SELECT * FROM unnest(hq, hg, hc) AS h(q, grp, cnt)
    ), cand AS (
      SELECT true AS mine, o.id, o.queue, o.priority, o.group_key, o.q_ready_at AS ready_at, o.seq, o.state, o.lease_id, l.lim, l.gcap, false AS bad
      FROM l CROSS JOIN LATERAL (
        SELECT t.id, t.queue, t.priority, t.group_key, t.q_ready_at, t.seq, t.state, t.lease_id FROM :SCHEMA:.tasks t
        WHERE t.queue = l.q AND t.q_ready_at <= now() AND t.q_lease_id IS NULL
          AND (l.gcap IS NULL OR t.group_key IS NULL
               OR NOT EXISTS (SELECT 1 FROM held h WHERE h.q = l.q AND h.grp = t.group_key AND h.cnt >= l.gcap))
        ORDER BY t.priority DESC, t.q_ready_at, t.seq
        LIMIT l.lim
        FOR UPDATE OF t SKIP LOCKED
      ) o
      UNION ALL
      SELECT false, d.task_id, d.queue, d.priority, d.group_key, d.ready_at, d.seq, NULL, NULL, l.lim, l.gcap, NOT (char_length(d.task_id) BETWEEN 1 AND 200 AND d.task_id !~ '[\x01-\x1f\x7f]' AND d.priority BETWEEN -10000 AND 10000 AND isfinite(d.ready_at))
      FROM l CROSS JOIN LATERAL (
        SELECT x.task_id, x.queue, x.priority, x.group_key, x.ready_at, x.seq FROM :SCHEMA:.deliveries x
        WHERE x.queue = l.q AND x.ready_at <= now() AND x.lease_id IS NULL
          AND (l.gcap IS NULL OR x.group_key IS NULL
               OR NOT EXISTS (SELECT 1 FROM held h WHERE h.q = l.q AND h.grp = x.group_key AND h.cnt >= l.gcap))
        ORDER BY x.priority DESC, x.ready_at, x.seq
        LIMIT l.lim
        FOR UPDATE OF x SKIP LOCKED
      ) d
    ), ranked AS (
      SELECT c.*,
        row_number() OVER (PARTITION BY c.queue, c.bad ORDER BY c.priority DESC, c.ready_at, c.seq, c.mine DESC) AS qrank,
        row_number() OVER (PARTITION BY c.queue, c.group_key, c.bad ORDER BY c.priority DESC, c.ready_at, c.seq, c.mine DESC)
          + coalesce((SELECT h.cnt FROM held h WHERE h.q = c.queue AND h.grp = c.group_key), 0) AS grank
      FROM cand c
    )
    SELECT array_agg((k.id, k.mine, k.queue, k.state, k.lease_id):::SCHEMA:.claim_pick ORDER BY k.priority DESC, k.ready_at, k.seq, k.mine DESC),
           (SELECT array_agg(b.id) FROM cand b WHERE b.bad)
    INTO picks, bad_ids
    FROM (
      SELECT r.* FROM ranked r
      WHERE NOT r.bad AND r.qrank <= r.lim AND (r.gcap IS NULL OR r.group_key IS NULL OR r.grank <= r.gcap)
      ORDER BY r.priority DESC, r.ready_at, r.seq, r.mine DESC
      LIMIT n
    ) k;
  END IF;

  IF bad_ids IS NOT NULL THEN
    WITH gone AS (
      DELETE FROM :SCHEMA:.deliveries d WHERE d.task_id = ANY(bad_ids)
      RETURNING d.task_id AS tid, left(row_to_json(d)::text, 4096) AS raw
    )
    INSERT INTO :SCHEMA:.events (seq, id, type, at, run_id, phase_id, task_id, worker_id, data)
    SELECT (SELECT nextval(':SCHEMA:.events_block')) * 65536 + row_number() OVER () - 1, gen_random_uuid()::text,
      'record.quarantined', date_trunc('milliseconds', now()), NULL, NULL, NULL, NULL,
      json_build_object('kind', 'delivery', 'recordId', g.tid,
        'reason', 'the delivery''s task id, priority or ready time is out of range', 'raw', g.raw)::text
    FROM gone g;
  END IF;
  IF picks IS NULL THEN RETURN; END IF;

  RETURN QUERY
  WITH chosen AS MATERIALIZED (
    SELECT p.*, gen_random_uuid()::text AS lease, worker IS NOT NULL AND p.mine AND p.prior = 'pending' AS start
    FROM unnest(picks) WITH ORDINALITY AS p(id, mine, queue, prior, prior_lease, ord)
  ), own AS (
    UPDATE :SCHEMA:.tasks t
    SET q_lease_id = c.lease,
        q_lease_expires_at = clock_timestamp() + lease_ms * interval '1 millisecond',
        state = CASE WHEN c.start THEN 'running' ELSE t.state END,
        lease_id = CASE WHEN c.start THEN c.lease ELSE t.lease_id END,
        worker_id = CASE WHEN c.start THEN worker ELSE t.worker_id END,
        started_at = CASE WHEN c.start THEN now() ELSE t.started_at END,
        heartbeat_at = CASE WHEN c.start THEN now() ELSE t.heartbeat_at END,
        updated_at = CASE WHEN c.start THEN now() ELSE t.updated_at END
    FROM chosen c
    WHERE c.mine AND t.id = c.id
    RETURNING t.*, c.ord AS c_ord, c.lease AS c_lease, c.start AS c_start, c.prior AS c_prior, c.prior_lease AS c_prior_lease
  ), other AS (
    UPDATE :SCHEMA:.deliveries d
    SET lease_id = c.lease, lease_expires_at = clock_timestamp() + lease_ms * interval '1 millisecond'
    FROM chosen c
    WHERE NOT c.mine AND d.task_id = c.id
    RETURNING d.task_id AS tid, c.ord AS c_ord, c.lease AS c_lease
  ), other_started AS (
    -- A task row created after its id was enqueued: started like any other.
    UPDATE :SCHEMA:.tasks t
    SET state = 'running', lease_id = o.c_lease, worker_id = worker, started_at = now(), heartbeat_at = now(), updated_at = now()
    FROM other o
    WHERE worker IS NOT NULL AND t.id = ANY(ARRAY(SELECT o2.tid FROM other o2)) AND t.id = o.tid AND t.state = 'pending'
    RETURNING t.*, o.c_ord AS c_ord
  ), started_rows AS (
    SELECT s.c_ord, s.id, s.queue, s.run_id, s.phase_id, s.worker_id, s.attempt, s.recoveries, s.updated_at FROM own s WHERE s.c_start
    UNION ALL
    SELECT s.c_ord, s.id, s.queue, s.run_id, s.phase_id, s.worker_id, s.attempt, s.recoveries, s.updated_at FROM other_started s
  ), started_events_ AS (
    INSERT INTO :SCHEMA:.events (seq, id, type, at, run_id, phase_id, task_id, worker_id, data)
    SELECT (SELECT nextval(':SCHEMA:.events_block')) * 65536 + s.c_ord - 1, gen_random_uuid()::text,
      'task.started', date_trunc('milliseconds', s.updated_at), s.run_id, s.phase_id, s.id, s.worker_id,
      json_build_object('attempt', s.attempt, 'recoveries', s.recoveries, 'queue', s.queue)::text
    FROM started_rows s
    WHERE started_events
  )
  SELECT s.c_ord, s.id, s.c_lease, s.c_prior, s.c_prior_lease, s.c_start,
    s.id, s.type, s.queue, s.priority, s.group_key, s.input, s.state, s.idempotency_key, s.run_id, s.phase_id,
    s.attempt, s.max_retries, s.recoveries, s.budget, s.cost_usd, s.tokens, s.progress, s.lease_id, s.worker_id,
    s.has_checkpoint, s.result, s.error, s.duration_ms,
    round(date_part('epoch', date_trunc('milliseconds', s.created_at)) * 1000), round(date_part('epoch', date_trunc('milliseconds', s.updated_at)) * 1000),
    round(date_part('epoch', date_trunc('milliseconds', s.started_at)) * 1000), round(date_part('epoch', date_trunc('milliseconds', s.heartbeat_at)) * 1000),
    round(date_part('epoch', date_trunc('milliseconds', s.finished_at)) * 1000), s.trace_context, s.corruption
  FROM own s
  UNION ALL
  SELECT o.c_ord, o.tid, o.c_lease, p.state, p.lease_id, x.id IS NOT NULL,
    x.id, x.type, x.queue, x.priority, x.group_key, x.input, x.state, x.idempotency_key, x.run_id, x.phase_id,
    x.attempt, x.max_retries, x.recoveries, x.budget, x.cost_usd, x.tokens, x.progress, x.lease_id, x.worker_id,
    x.has_checkpoint, x.result, x.error, x.duration_ms,
    round(date_part('epoch', date_trunc('milliseconds', x.created_at)) * 1000), round(date_part('epoch', date_trunc('milliseconds', x.updated_at)) * 1000),
    round(date_part('epoch', date_trunc('milliseconds', x.started_at)) * 1000), round(date_part('epoch', date_trunc('milliseconds', x.heartbeat_at)) * 1000),
    round(date_part('epoch', date_trunc('milliseconds', x.finished_at)) * 1000), x.trace_context, x.corruption
  FROM other o
  LEFT JOIN other_started x ON x.id = o.tid
  -- The state the task had before this statement (it is what a refused start reports).
  LEFT JOIN :SCHEMA:.tasks p ON p.id = o.tid
  ORDER BY 1;

  -- Spend the tokens of the rate-limited queues (their rows are locked by this transaction).
  IF cardinality(rated) > 0 THEN
    UPDATE :SCHEMA:.queue_settings c
    SET rate_tat = greatest(coalesce(c.rate_tat, 0), floor(extract(epoch FROM now()) * 1000)::bigint * c.rate_max) + k.taken * c.rate_per_ms
    FROM (SELECT x.queue AS q, count(*) AS taken FROM unnest(picks) AS x WHERE x.queue = ANY(rated) GROUP BY x.queue) k
    WHERE c.name = k.q AND c.rate_max IS NOT NULL;
  END IF;
END
$fn$;

-- When a claim that found nothing could next succeed without being woken: the earliest delayed
-- delivery of the listed queues that are not paused, or a rate-limited queue's next token. In
-- milliseconds from now; NULL when nothing is coming. Delayed deliveries sit behind the ready
-- ones of their priority in the claim index, so each priority present is visited (a skip scan:
-- two index probes per priority) instead of reading every delivery.
CREATE FUNCTION :SCHEMA:.next_due(qs text[]) RETURNS double precision
LANGUAGE plpgsql STABLE
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
SET jit = off
AS $fn$
DECLARE
  q text;
  p integer;
  due timestamptz;
  best timestamptz;
  cfg record;
BEGIN
  FOREACH q IN ARRAY qs LOOP
    SELECT s.paused, s.rate_max, s.rate_per_ms, s.rate_tat INTO cfg FROM :SCHEMA:.queue_settings s WHERE s.name = q;
    IF FOUND THEN
      CONTINUE WHEN cfg.paused;
      IF cfg.rate_tat IS NOT NULL THEN
        -- The first whole millisecond at which one more claim fits the bucket.
        due := 'epoch'::timestamptz + ceil((cfg.rate_tat - cfg.rate_per_ms * (cfg.rate_max - 1))::numeric / cfg.rate_max) * interval '1 millisecond';
        IF due > now() AND (best IS NULL OR due < best) THEN best := due; END IF;
      END IF;
    END IF;
    SELECT t.priority INTO p FROM :SCHEMA:.tasks t
    WHERE t.queue = q AND t.q_ready_at IS NOT NULL AND t.q_lease_id IS NULL ORDER BY t.priority DESC LIMIT 1;
    WHILE p IS NOT NULL LOOP
      SELECT t.q_ready_at INTO due FROM :SCHEMA:.tasks t
      WHERE t.queue = q AND t.q_ready_at IS NOT NULL AND t.q_lease_id IS NULL AND t.priority = p AND t.q_ready_at > now()
      ORDER BY t.q_ready_at LIMIT 1;
      IF due IS NOT NULL AND (best IS NULL OR due < best) THEN best := due; END IF;
      SELECT t.priority INTO p FROM :SCHEMA:.tasks t
      WHERE t.queue = q AND t.q_ready_at IS NOT NULL AND t.q_lease_id IS NULL AND t.priority < p ORDER BY t.priority DESC LIMIT 1;
    END LOOP;
    SELECT d.priority INTO p FROM :SCHEMA:.deliveries d
    WHERE d.queue = q AND d.lease_id IS NULL ORDER BY d.priority DESC LIMIT 1;
    WHILE p IS NOT NULL LOOP
      SELECT d.ready_at INTO due FROM :SCHEMA:.deliveries d
      WHERE d.queue = q AND d.lease_id IS NULL AND d.priority = p AND d.ready_at > now()
      ORDER BY d.ready_at LIMIT 1;
      IF due IS NOT NULL AND (best IS NULL OR due < best) THEN best := due; END IF;
      SELECT d.priority INTO p FROM :SCHEMA:.deliveries d
      WHERE d.queue = q AND d.lease_id IS NULL AND d.priority < p ORDER BY d.priority DESC LIMIT 1;
    END LOOP;
  END LOOP;
  RETURN extract(epoch FROM best - now()) * 1000;
END
$fn$;

-- Running tasks with their heartbeat status. The task row's own heartbeat (tasks.heartbeat,
-- written whichever store holds the queue) decides first: healthy while it is more recent than
-- the stall timeout (3 minutes, the engine's default; `SET baton.stall_after = '30 s'` in a
-- session to match yours), then the delivery lease when this schema holds the queue, then the
-- heartbeat store's entries of the task and its worker.
CREATE VIEW :SCHEMA:.active_tasks AS
SELECT
  t.id,
  t.type,
  t.queue,
  t.priority,
  t.group_key,
  t.run_id,
  t.phase_id,
  t.worker_id,
  t.lease_id,
  t.attempt,
  t.recoveries,
  t.has_checkpoint,
  t.started_at,
  t.updated_at,
  now() - t.started_at AS running_for,
  t.q_lease_expires_at AS lease_expires_at,
  greatest(t.heartbeat_at, hb_task.last_seen, hb_worker.last_seen) AS last_heartbeat,
  CASE
    WHEN t.heartbeat_at > now() - coalesce(nullif(current_setting('baton.stall_after', true), '')::interval, interval '3 minutes') THEN 'healthy'
    WHEN t.q_lease_id = t.lease_id AND t.q_lease_expires_at > now() THEN 'healthy'
    WHEN greatest(hb_task.expires_at, hb_worker.expires_at) > now() THEN 'healthy'
    WHEN t.heartbeat_at IS NOT NULL OR t.q_lease_id = t.lease_id OR greatest(hb_task.expires_at, hb_worker.expires_at) IS NOT NULL THEN 'stalled'
    ELSE 'unknown'
  END AS heartbeat_status
FROM :SCHEMA:.tasks t
LEFT JOIN :SCHEMA:.heartbeats hb_task ON hb_task.id = 'task:' || t.id
LEFT JOIN :SCHEMA:.heartbeats hb_worker ON hb_worker.id = 'worker:' || t.worker_id
WHERE t.state = 'running';

-- Tasks per queue and state, for dashboards.
CREATE VIEW :SCHEMA:.task_stats_by_queue AS
SELECT
  t.queue,
  count(*) AS total,
  count(*) FILTER (WHERE t.state = 'pending') AS pending,
  count(*) FILTER (WHERE t.state = 'running') AS running,
  count(*) FILTER (WHERE t.state = 'scheduled') AS scheduled,
  count(*) FILTER (WHERE t.state = 'completed') AS completed,
  count(*) FILTER (WHERE t.state = 'dead') AS dead,
  count(*) FILTER (WHERE t.state = 'cancelled') AS cancelled
FROM :SCHEMA:.tasks t
GROUP BY t.queue;
