// The Lua scripts, from src/lua/<name>.lua (embedded by scripts/embed-files.mjs). Each gets the
// key layout (keys.ts), includes/core-lib.lua and the libraries its `-- @include <lib>` lines
// name (src/lua/includes/<lib>-lib.lua) — but only the top-level definitions it reaches: Redis
// runs a script's whole chunk on every call, so each unused function would cost every call
// (a closure per definition; ~25 µs for all libraries against ~7 µs for a bare script). Each
// script's SHA1 is computed here so it runs by EVALSHA and falls back to EVAL on NOSCRIPT.
import { createHash } from 'node:crypto';
import { luaKeyDefinitions } from './keys.js';
import { files as includes } from './lua-includes.generated.js';
import { files } from './lua.generated.js';

export type ScriptName =
  | 'init'
  | 'enqueue'
  | 'claim'
  | 'claim-start'
  | 'ack'
  | 'release'
  | 'extend'
  | 'reclaim'
  | 'remove'
  | 'queues'
  | 'configure'
  | 'create'
  | 'create-one'
  | 'start'
  | 'finish'
  | 'finish-settle'
  | 'recover'
  | 'transition'
  | 'retry'
  | 'usage'
  | 'progress'
  | 'heartbeat'
  | 'quarantine'
  | 'get-tasks'
  | 'list-tasks'
  | 'counts'
  | 'purge-tasks'
  | 'delete-tasks'
  | 'checkpoint-save'
  | 'checkpoint-delete'
  | 'timer-schedule'
  | 'timer-claim'
  | 'timer-complete'
  | 'timer-quarantine'
  | 'timer-select'
  | 'timer-next'
  | 'beat'
  | 'beat-stale'
  | 'beat-remove'
  | 'events-append'
  | 'events-seek'
  | 'events-purge'
  | 'coord-read'
  | 'coord-write'
  | 'coord-scan';

export interface LuaScript {
  readonly name: ScriptName;
  readonly source: string;
  readonly sha: string;
}

const INCLUDE = /^-- @include ([a-z-]+)$/gm;
const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/g;
const COMMENT = /--[^\n]*/g;

const identifiers = (text: string): string[] => text.replace(COMMENT, '').match(IDENTIFIER) ?? [];

interface Definition {
  names: string[];
  text: string;
}

/** Splits a library into its top-level definitions: each starts at a `local` in column 0. */
function definitions(source: string): Definition[] {
  const out: Definition[] = [];
  let current: string[] | null = null;
  for (const line of source.split('\n')) {
    if (line.startsWith('local ')) {
      current = [line];
      out.push({ names: [], text: '' });
      const fn = /^local function ([A-Za-z_][A-Za-z0-9_]*)/.exec(line);
      out[out.length - 1]!.names = fn !== null ? [fn[1]!] : line.slice(6, line.indexOf('=')).split(',').map((n) => n.trim());
    } else if (current !== null && !line.startsWith('--')) current.push(line);
    if (current !== null) out[out.length - 1]!.text = current.join('\n');
  }
  return out;
}

function build(file: string, text: string): string {
  const keys = luaKeyDefinitions();
  const libs = [...text.matchAll(INCLUDE)].map((m) => m[1]!);
  const pool: Definition[] = [...keys.functions.flatMap(definitions), ...definitions(includes['core-lib.lua']!)];
  for (const lib of libs) {
    const source = includes[`${lib}.lua`];
    if (source === undefined) throw new Error(`${file} includes ${lib}.lua, which is not in src/lua/includes`);
    pool.push(...definitions(source));
  }
  const body = text.replace(INCLUDE, '');
  // Keep what the body reaches, transitively.
  const needed = new Set(identifiers(body));
  const kept = new Set<Definition>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const d of pool) {
      if (kept.has(d) || !d.names.some((n) => needed.has(n))) continue;
      kept.add(d);
      for (const id of identifiers(d.text)) needed.add(id);
      grew = true;
    }
  }
  const parts = pool.filter((d) => kept.has(d)).map((d) => d.text);
  const used = Object.entries(keys.fixed).filter(([name]) => new RegExp(`\\bK\\.${name}\\b`).test((parts.join('\n') + body).replace(COMMENT, '')));
  const fixed = used.length === 0 ? [] : [`local K = { ${used.map(([name, key]) => `${name} = P .. '${key}'`).join(', ')} }`];
  // `P` is defined first whenever anything needs it; the fixed keys follow it.
  const p = parts[0] === 'local P = ARGV[1]' ? [parts.shift()!] : fixed.length > 0 ? ['local P = ARGV[1]'] : [];
  return [...p, ...fixed, ...parts, body].join('\n');
}

function load(): Record<ScriptName, LuaScript> {
  const out: Partial<Record<string, LuaScript>> = {};
  for (const [file, text] of Object.entries(files)) {
    const name = file.slice(0, -'.lua'.length) as ScriptName;
    const source = build(file, text);
    out[name] = { name, source, sha: createHash('sha1').update(source).digest('hex') };
  }
  return out as Record<ScriptName, LuaScript>;
}

export const scripts: Readonly<Record<ScriptName, LuaScript>> = Object.freeze(load());
