-- Baton on MariaDB / MySQL, schema version 1.
-- :P: is replaced by the validated table prefix (e.g. `baton_`), inside backquotes.
-- Applied once under GET_LOCK, recorded in the :P:migrations ledger. MySQL commits DDL
-- implicitly, so every statement here is written to be re-runnable (IF NOT EXISTS): a
-- migration cut short is completed by the next start. Forward-only: add 000002_…, never edit.
--
-- Names (ids, types, queues, groups, keys) are VARBINARY: compared byte for byte, so `mail`
-- and `Mail` (or `a` and `a `, which PAD SPACE collations merge) stay apart on MariaDB and
-- MySQL alike. JSON is kept as utf8mb4 text, exactly as serialised, and decoded by the adapter
-- (a row it cannot decode is quarantined, never thrown). Times are epoch ms by the server clock.

-- Task records. `seq` is creation order (pages, retention ties).
CREATE TABLE IF NOT EXISTS `:P:tasks` (
  seq              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  id               VARBINARY(255) NOT NULL,
  type             VARBINARY(800) NOT NULL,
  queue            VARBINARY(400) NOT NULL,
  priority         INT NOT NULL,
  grp              VARBINARY(800) NULL,
  input            LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  state            VARCHAR(16) CHARACTER SET ascii NOT NULL,
  idempotency_key  VARBINARY(2048) NOT NULL,
  run_id           VARBINARY(800) NULL,
  phase_id         VARBINARY(800) NULL,
  attempt          INT NOT NULL DEFAULT 0,
  max_retries      INT NOT NULL DEFAULT 0,
  recoveries       INT NOT NULL DEFAULT 0,
  budget           TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  cost_usd         DOUBLE NOT NULL DEFAULT 0,
  tokens           DOUBLE NOT NULL DEFAULT 0,
  progress         MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  lease_id         VARBINARY(255) NULL,
  worker_id        VARBINARY(1024) NULL,
  has_checkpoint   TINYINT NOT NULL DEFAULT 0,
  result           LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  error            MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  duration_ms      DOUBLE NULL,
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL,
  started_at       BIGINT NULL,
  heartbeat_at     BIGINT NULL,
  finished_at      BIGINT NULL,
  trace_context    TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  -- Set once when the row was found undecodable and quarantined: {field, reason, raw}.
  corruption       MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  PRIMARY KEY (id),
  UNIQUE KEY tasks_seq (seq),
  -- list({ states }) and the reconciler, in creation order.
  KEY tasks_state (state, seq),
  -- purge(): finished tasks of one state, oldest first.
  KEY tasks_finished (state, finished_at, seq),
  KEY tasks_run (run_id, seq),
  KEY tasks_phase (phase_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Idempotency keys: key -> task until expires_at; a key may move to a new task once expired.
CREATE TABLE IF NOT EXISTS `:P:idempotency_keys` (
  k           VARBINARY(2048) NOT NULL,
  task_id     VARBINARY(255) NOT NULL,
  expires_at  BIGINT NOT NULL,
  PRIMARY KEY (k),
  KEY keys_task (task_id),
  KEY keys_expires (expires_at)
) ENGINE=InnoDB;

-- Deliveries: at most one live row per task id (the primary key). status 0 = waiting (ready
-- once ready_at has passed), 1 = leased, 2 = quarantined (undecodable; kept for inspection).
-- neg_priority = -priority, so one ascending index gives the claim order of a queue:
-- highest priority, then oldest readiness, then enqueue order.
CREATE TABLE IF NOT EXISTS `:P:deliveries` (
  seq               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  task_id           VARBINARY(255) NOT NULL,
  queue             VARBINARY(400) NOT NULL,
  neg_priority      INT NOT NULL,
  grp               VARBINARY(800) NULL,
  status            TINYINT NOT NULL DEFAULT 0,
  ready_at          BIGINT NOT NULL,
  lease_id          VARBINARY(255) NULL,
  lease_expires_at  BIGINT NULL,
  PRIMARY KEY (task_id),
  UNIQUE KEY deliveries_seq (seq),
  KEY deliveries_claim (queue, status, neg_priority, ready_at, seq),
  -- reclaimExpired() and depth().expired.
  KEY deliveries_lease (status, lease_expires_at),
  -- groupConcurrency: leased deliveries per group of a queue.
  KEY deliveries_group (queue, status, grp)
) ENGINE=InnoDB;

-- Queue settings and the rate-limit bucket (GCRA in units of 1/rate_max ms from rate_origin).
-- A row exists once configure() was called; claims lock it (FOR UPDATE) to count against limits.
CREATE TABLE IF NOT EXISTS `:P:queues` (
  name               VARBINARY(400) NOT NULL,
  paused             TINYINT NOT NULL DEFAULT 0,
  concurrency        INT NULL,
  group_concurrency  INT NULL,
  rate_max           INT NULL,
  rate_per_ms        BIGINT NULL,
  rate_origin        BIGINT NOT NULL DEFAULT 0,
  rate_tat           BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (name)
) ENGINE=InnoDB;

-- One checkpoint per task, newest save wins; bytes kept exactly as saved.
CREATE TABLE IF NOT EXISTS `:P:checkpoints` (
  task_id     VARBINARY(255) NOT NULL,
  token       TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  encoding    VARCHAR(8) CHARACTER SET ascii NOT NULL,
  body        LONGBLOB NOT NULL,
  size_bytes  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL,
  PRIMARY KEY (task_id)
) ENGINE=InnoDB;

-- Append-only audit trail; seq is strictly increasing in append order.
CREATE TABLE IF NOT EXISTS `:P:events` (
  seq        BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  id         VARBINARY(255) NOT NULL,
  type       VARCHAR(64) CHARACTER SET ascii NOT NULL,
  at         DOUBLE NOT NULL,
  run_id     VARBINARY(800) NULL,
  phase_id   VARBINARY(800) NULL,
  task_id    VARBINARY(255) NULL,
  worker_id  VARBINARY(1024) NULL,
  data       MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  PRIMARY KEY (seq),
  KEY events_task (task_id, seq),
  KEY events_run (run_id, seq),
  KEY events_phase (phase_id, seq),
  KEY events_type (type, seq),
  KEY events_at (at)
) ENGINE=InnoDB;

-- Durable timers. next_at = when the timer can next be claimed (its due time, or the end of a
-- claim). Completed timers are deleted; quarantined ones (undecodable) are kept but out of
-- every query. pending_key makes a key unique among the pending timers only.
CREATE TABLE IF NOT EXISTS `:P:timers` (
  seq          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  id           VARBINARY(255) NOT NULL,
  kind         VARCHAR(16) CHARACTER SET ascii NOT NULL,
  k            VARBINARY(1024) NULL,
  task_id      VARBINARY(255) NULL,
  phase_id     VARBINARY(800) NULL,
  name         VARBINARY(800) NULL,
  payload      MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  due_at       BIGINT NOT NULL,
  next_at      BIGINT NOT NULL,
  created_at   BIGINT NOT NULL,
  quarantined  TINYINT NOT NULL DEFAULT 0,
  pending_key  VARBINARY(1024) AS (IF(quarantined = 0, k, NULL)) STORED,
  PRIMARY KEY (id),
  UNIQUE KEY timers_seq (seq),
  UNIQUE KEY timers_pending_key (pending_key),
  KEY timers_next (quarantined, next_at, seq),
  KEY timers_due (quarantined, due_at, seq),
  KEY timers_task (task_id),
  KEY timers_phase (phase_id)
) ENGINE=InnoDB;

-- Liveness of workers and tasks; an entry counts until expires_at.
CREATE TABLE IF NOT EXISTS `:P:heartbeats` (
  id          VARBINARY(1024) NOT NULL,
  last_seen   BIGINT NOT NULL,
  expires_at  BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY heartbeats_seen (last_seen),
  KEY heartbeats_expires (expires_at)
) ENGINE=InnoDB;

-- Small versioned documents (fleet-wide circuit breakers), compare-and-set on version.
CREATE TABLE IF NOT EXISTS `:P:coordination` (
  k        VARBINARY(1200) NOT NULL,
  v        MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  version  BIGINT NOT NULL,
  PRIMARY KEY (k)
) ENGINE=InnoDB;
