// The CommonJS declarations (.d.cts) of every package, as `require` consumers see them, with
// skipLibCheck off: each declaration file a package ships is type-checked here.
import core = require('@baton/core');
import adapter = require('@baton/core/adapter');
import memory = require('@baton/memory');
import sqlite = require('@baton/sqlite');
import redis = require('@baton/redis');
import postgres = require('@baton/postgres');
import nats = require('@baton/nats');
import mysql = require('@baton/mysql');
import cli = require('@baton/cli');
import dashboard = require('@baton/dashboard');
import metrics = require('@baton/metrics');
import otel = require('@baton/otel');
import prometheus = require('@baton/prometheus');

export const backend: core.Backend = memory.memoryBackend({ clock: new memory.FakeClock() });
export const kit: typeof adapter.transitions = adapter.transitions;
export const factories = [sqlite.sqliteBackend, redis.redisBackend, postgres.postgresBackend, nats.natsBackend, mysql.mysqlBackend] as const;
export const tools = [cli.main, dashboard.createDashboard] as const;
export const observability: core.Instrumentation[] = [otel.otelInstrumentation(), prometheus.prometheusMetrics()];
export const definitions = metrics.METRIC_LIST;
