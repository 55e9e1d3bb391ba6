// Names the adapter derives from the schema: the quoted identifier put into SQL, the
// LISTEN/NOTIFY channel and the migration lock's key. The schema name is validated first, so
// nothing the user typed reaches SQL unchecked.
import { validateName } from '@baton/core/adapter';

export interface SchemaNames {
  /** The validated schema name, e.g. `baton`. */
  readonly name: string;
  /** The quoted identifier for SQL, e.g. `"baton"`. */
  readonly ident: string;
  /** LISTEN/NOTIFY channel on which ready work is announced (the payload names the queue). */
  readonly channel: string;
  /** Advisory-lock key pair (classid, objid) serialising migrations of this schema. */
  readonly migrationLock: readonly [number, number];
}

// "baton" as a 32-bit integer: the advisory-lock namespace, so our keys don't collide with
// an application's single-key locks.
const LOCK_NAMESPACE = 0x6261746f | 0;

export function schemaNames(schema: unknown = 'baton'): SchemaNames {
  const name = validateName('schema', schema);
  return Object.freeze({
    name,
    ident: `"${name}"`,
    channel: `baton_${name}`,
    migrationLock: Object.freeze([LOCK_NAMESPACE, fnv1a(`${name}:migrate`)] as const),
  });
}

/** Replaces the `:SCHEMA:` placeholder of a migration or query with the quoted schema. */
export function withSchema(sql: string, names: SchemaNames): string {
  return sql.replaceAll(':SCHEMA:', names.ident);
}

/** 32-bit FNV-1a as a signed int (what pg_advisory_lock(int, int) takes). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}
