-- Baton on PostgreSQL, schema version 4: the claim finds the task rows it starts by id, whatever
-- the statistics say. Applied in place on a version-3 schema; no table or index changes.
--
-- claim() starts, by id, the task rows of deliveries kept in the deliveries table. It filtered
-- them with `t.state = 'pending'`, which the planner could pair with tasks_active_idx (state,
-- seq). With statistics taken while few tasks were pending (an idle queue, then a burst), it
-- believed that index scan cheap and walked every pending task on every claim to find none: 20,000
-- index entries per claim of 50 (2.4 ms) until autovacuum analyzed the table again. The state is
-- now compared in the opaque form the adapter's own statements use, `(t.state || '') = 'pending'`,
-- which no index matches, so the rows are found through the primary key by id.
--
-- Only that clause changes. The function is patched from its stored definition (that of migration
-- 2), so its settings and grants stay as they are; the migration fails if the clause is missing.
DO $do$
DECLARE
  fn regprocedure := ':SCHEMA:.claim(text[], integer, double precision, text, boolean)'::regprocedure;
  def text := pg_get_functiondef(fn);
  old_clause text := 'AND t.id = o.tid AND t.state = ''pending''';
  new_clause text := 'AND t.id = o.tid AND (t.state || '''') = ''pending''';
BEGIN
  IF (length(def) - length(replace(def, old_clause, ''))) / length(old_clause) <> 1 THEN
    RAISE EXCEPTION 'claim() is not the function migration 2 created (the clause to change occurs % times); was it edited by hand?',
      (length(def) - length(replace(def, old_clause, ''))) / length(old_clause);
  END IF;
  EXECUTE replace(def, old_clause, new_clause);
END
$do$;
