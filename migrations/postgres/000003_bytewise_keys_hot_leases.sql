-- Baton on PostgreSQL, schema version 3: cheaper index work per task. Applied in place on a
-- populated version-2 schema, in one transaction; no table is rewritten, the indexes on the
-- changed columns are rebuilt.
--
-- 1. Ids, keys, queue names and states compare bytewise (COLLATE "C"). Under the database's
--    default collation every comparison in a B-tree over text (the primary keys, the claim
--    index, the events' task index) went through the locale's strcoll: about a tenth of the
--    server's CPU while processing tasks (perf). Equality is unchanged (every collation here is
--    deterministic); orderings by these columns (queue lists) become byte order, the order the
--    other backends use.
-- 2. The leased indexes no longer hold the lease expiry, so extending a lease (every heartbeat of
--    a running task) changes no indexed column and can be a HOT update: no new entry in any of
--    the table's indexes. The stalled-lease query reads the expiry from the row instead; the
--    leased rows are the running tasks, few next to the table.
-- 3. Task rows leave a fifth of each page free (fillfactor 80, for pages written from now on),
--    so those HOT updates — heartbeats, progress, usage, the checkpoint flag — find room for the
--    new row version on the same page.
-- 4. Events and idempotency keys, deleted in bulk by retention, are vacuumed by autovacuum once
--    5 % of their rows are dead (the tasks table's setting since version 1) instead of 20 %.
--    The backend also vacuums after its own retention passes (the `vacuum` option).

-- A column a view reads cannot change its collation: the views are dropped and created again
-- from their own definitions, with the privileges they had.
CREATE TEMPORARY TABLE baton_saved_views AS
SELECT c.relname AS name, pg_get_viewdef(c.oid) AS def, c.relacl AS acl
FROM pg_class c
WHERE c.relnamespace = ':SCHEMA:'::regnamespace AND c.relkind = 'v';

DO $do$
DECLARE v record;
BEGIN
  FOR v IN SELECT name FROM baton_saved_views LOOP
    EXECUTE format('DROP VIEW :SCHEMA:.%I', v.name);
  END LOOP;
END
$do$;

ALTER TABLE :SCHEMA:.tasks
  ALTER COLUMN id TYPE text COLLATE "C",
  ALTER COLUMN state TYPE text COLLATE "C",
  ALTER COLUMN queue TYPE text COLLATE "C",
  ALTER COLUMN group_key TYPE text COLLATE "C",
  ALTER COLUMN run_id TYPE text COLLATE "C",
  ALTER COLUMN phase_id TYPE text COLLATE "C",
  ALTER COLUMN idempotency_key TYPE text COLLATE "C";
ALTER TABLE :SCHEMA:.tasks SET (fillfactor = 80);
ALTER TABLE :SCHEMA:.events SET (autovacuum_vacuum_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE :SCHEMA:.idempotency_keys SET (autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE :SCHEMA:.checkpoints ALTER COLUMN task_id TYPE text COLLATE "C";
ALTER TABLE :SCHEMA:.idempotency_keys
  ALTER COLUMN key TYPE text COLLATE "C",
  ALTER COLUMN task_id TYPE text COLLATE "C";
ALTER TABLE :SCHEMA:.deliveries
  ALTER COLUMN task_id TYPE text COLLATE "C",
  ALTER COLUMN queue TYPE text COLLATE "C",
  ALTER COLUMN group_key TYPE text COLLATE "C";
ALTER TABLE :SCHEMA:.events
  ALTER COLUMN task_id TYPE text COLLATE "C",
  ALTER COLUMN run_id TYPE text COLLATE "C",
  ALTER COLUMN phase_id TYPE text COLLATE "C",
  ALTER COLUMN type TYPE text COLLATE "C";
ALTER TABLE :SCHEMA:.timers
  ALTER COLUMN id TYPE text COLLATE "C",
  ALTER COLUMN key TYPE text COLLATE "C",
  ALTER COLUMN task_id TYPE text COLLATE "C",
  ALTER COLUMN phase_id TYPE text COLLATE "C";
ALTER TABLE :SCHEMA:.heartbeats ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE :SCHEMA:.queue_settings ALTER COLUMN name TYPE text COLLATE "C";

-- Leased deliveries by queue and group: the claim counts a limited queue's (and group's) slots
-- on it; reclaimExpired and depth() walk it and test each row's expiry.
DROP INDEX :SCHEMA:.tasks_leased_idx;
CREATE INDEX tasks_leased_idx ON :SCHEMA:.tasks (queue, group_key) WHERE q_lease_id IS NOT NULL;
DROP INDEX :SCHEMA:.deliveries_leased_idx;
CREATE INDEX deliveries_leased_idx ON :SCHEMA:.deliveries (queue, group_key) WHERE lease_id IS NOT NULL;

DO $do$
DECLARE
  v record;
  g record;
BEGIN
  FOR v IN SELECT name, def, acl FROM baton_saved_views LOOP
    EXECUTE format('CREATE VIEW :SCHEMA:.%I AS %s', v.name, v.def);
    FOR g IN SELECT a.grantee, a.privilege_type, a.is_grantable FROM aclexplode(v.acl) a
             WHERE a.grantee <> (SELECT c.relowner FROM pg_class c WHERE c.oid = format(':SCHEMA:.%I', v.name)::regclass) LOOP
      EXECUTE format('GRANT %s ON :SCHEMA:.%I TO %s%s', g.privilege_type, v.name,
        CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END,
        CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
  END LOOP;
END
$do$;
DROP TABLE baton_saved_views;
