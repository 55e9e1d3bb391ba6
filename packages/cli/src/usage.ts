// Every command's --help, in one place (the README prints the same text).
export const GLOBAL = `Usage: baton [--backend <url>] <command> [options]

Operate Baton on any backend: inspect, retry, cancel and purge tasks, pause queues, tail events.

Backend (--backend, or $BATON_BACKEND):
  sqlite:./baton.db                         the embedded file
  redis://host:6379?prefix=baton            a Redis (prefix defaults to baton)
  postgres://user@host:5432/db?schema=baton PostgreSQL (schema defaults to baton)
  nats://host:4222?prefix=baton             NATS JetStream
  mysql://user@host:3306/db?prefix=baton    MySQL / MariaDB

Commands:
  stats                  counts by state per queue, type or phase; oldest wait; stalled runs
  queues                 every queue with its settings and depth
  ls                     list tasks (filters as flags), oldest first, a page at a time
  show <id>              one task: its record, checkpoint and event timeline
  retry <id> | --state … run finished tasks again (same id)
  cancel <id> | --state …  cancel unfinished tasks
  pause <queue>          stop every worker from taking tasks of the queue
  resume <queue>         let them take tasks again
  tail                   follow the event log live (Ctrl-C to stop)
  purge --older-than 7d  delete finished tasks (with --dry-run to count only)
  migrate                apply pending schema migrations (SQLite, Postgres, MySQL)

Global options:
  --backend <url>   where the tasks live
  --json            machine-readable output (one JSON document; tail: one event per line)
  --yes, -y         do not ask before destructive changes (required when not on a terminal)
  --no-color        plain output (also when NO_COLOR is set or stdout is not a terminal)
  --help, -h        this text, or a command's own (baton <command> --help)

Exit codes: 0 ok · 1 the operation failed (unknown task, wrong state) · 2 bad usage or input ·
3 backend unreachable or schema of another version · 4 declined at the confirmation prompt.`;

export const COMMANDS: Record<string, string> = {
  stats: `Usage: baton stats [--by queue|type|phase]

Counts of tasks by state per queue (default), task type or phase, the oldest pending task's
wait, and running tasks whose worker stopped heartbeating past the stall timeout.`,
  queues: `Usage: baton queues

Every queue with tasks or settings: paused, concurrency, rate limit, group cap, and its depth
(ready, leased, expired leases, delayed).`,
  ls: `Usage: baton ls [filters] [--limit N] [--cursor C]

Filters (all optional, combined with AND):
  --state S[,S…]     pending, running, scheduled, completed, dead, cancelled
  --type T           task type
  --queue Q          queue name
  --run R            run id
  --phase P          phase id
  --since T          created at or after T (a duration ago such as 2h, or an ISO date)
  --until T          created before T
Pages: --limit N (default 50, at most 1000); the output ends with the --cursor of the next page.`,
  show: `Usage: baton show <task-id> [--no-events] [--no-checkpoint]

The task's record (state, attempts, recoveries, error, usage, progress), its checkpoint (token,
size, data) and the timeline of its events.`,
  retry: `Usage: baton retry <task-id> [--reset-attempts]
       baton retry --state dead [filters] [--limit N] [--reset-attempts] [--yes]

Runs finished (dead, cancelled or completed) tasks again under the same id. --reset-attempts
gives them their whole retry budget again. With filters, asks before retrying (or --yes).
Filters: as for ls (--state defaults to dead).`,
  cancel: `Usage: baton cancel <task-id>
       baton cancel --state pending [filters] [--limit N] [--yes]

Cancels unfinished tasks; a running handler's ctx.signal aborts within one heartbeat interval.
With filters, asks before cancelling (or --yes). Filters: as for ls.`,
  pause: `Usage: baton pause <queue>

Every worker stops taking tasks of the queue at its next claim; running tasks finish.`,
  resume: `Usage: baton resume <queue>

Workers take tasks of the queue again.`,
  tail: `Usage: baton tail [--type E[,E…]] [--task ID] [--run R] [--phase P] [--since T]

Prints events as they are appended, from every process, until Ctrl-C. --since starts that far
back (default: now). --type takes event types such as task.dead,task.lease_lost.`,
  purge: `Usage: baton purge --older-than 7d [--state dead[,…]] [--type T] [--queue Q] [--dry-run] [--yes]

Deletes finished tasks created before the given age, with their checkpoints. Only finished
tasks (completed, dead, cancelled) are ever deleted. --dry-run counts what would go.`,
  migrate: `Usage: baton migrate

Applies the pending schema migrations (SQLite, Postgres, MySQL) with the URL's credentials:
run it in your deploy with the owner role, and run services with migrate: false.`,
};
