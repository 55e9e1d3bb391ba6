// The ESM declarations of every package, @baton/conformance included (ESM only), with skipLibCheck
// off: each declaration file a package ships is type-checked here.
import type { Backend } from '@baton/core';
import { transitions, type TaskStore } from '@baton/core/adapter';
import { runConformanceSuite, type ConformanceTarget, type CorruptionHooks } from '@baton/conformance';
import { startThrowawayRedis, type ThrowawayServer } from '@baton/conformance/servers';
import { memoryBackend, FakeClock } from '@baton/memory';
import { sqliteBackend } from '@baton/sqlite';
import { redisBackend } from '@baton/redis';
import { postgresBackend } from '@baton/postgres';
import { natsBackend } from '@baton/nats';
import { mysqlBackend } from '@baton/mysql';
import { main } from '@baton/cli';
import { createDashboard } from '@baton/dashboard';
import { METRIC_LIST, type MetricSink } from '@baton/metrics';
import { otelInstrumentation } from '@baton/otel';
import { prometheusMetrics } from '@baton/prometheus';
import type { Instrumentation } from '@baton/core';

export const target: ConformanceTarget = { name: 'memory', create: async (): Promise<Backend> => memoryBackend({ clock: new FakeClock() }) };
export type Hooks = CorruptionHooks;
export type Store = TaskStore;
export type Sink = MetricSink;
export type Server = ThrowawayServer;
export const observability: Instrumentation[] = [otelInstrumentation(), prometheusMetrics()];
export const used = [METRIC_LIST, startThrowawayRedis, transitions, runConformanceSuite, sqliteBackend, redisBackend, postgresBackend, natsBackend, mysqlBackend, main, createDashboard] as const;
