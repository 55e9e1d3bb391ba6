// The Lua scripts, from src/lua/<name>-<numKeys>.lua (embedded by scripts/embed-files.mjs).
// `-- @include <lib>` lines are replaced by src/lua/<lib>.lua; each script's SHA1 is computed
// here so it runs by EVALSHA and falls back to EVAL (which also caches it) on NOSCRIPT.
import { createHash } from 'node:crypto';
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
  | 'depth'
  | 'prune-consumers'
  | 'create'
  | 'start'
  | 'finish'
  | 'finish-settle'
  | 'recover'
  | 'transition'
  | 'usage'
  | 'purge-tasks'
  | 'list-tasks'
  | 'get-tasks'
  | 'counts'
  | 'checkpoint-save'
  | 'checkpoint-delete'
  | 'timer-schedule'
  | 'timer-claim'
  | 'timer-complete'
  | 'timer-select'
  | 'timer-next'
  | 'heartbeat-beat'
  | 'heartbeat-stale'
  | 'heartbeat-remove'
  | 'events-append'
  | 'events-purge'
  | 'events-seek';

export interface LuaScript {
  readonly name: ScriptName;
  readonly numKeys: number;
  readonly source: string;
  readonly sha: string;
}

const SCRIPT_FILE = /^([a-z][a-z-]*?)-(\d+)\.lua$/;
const INCLUDE = /^-- @include ([a-z-]+)$/gm;

function expand(source: string, from: string): string {
  return source.replace(INCLUDE, (_line, lib: string) => {
    const text = files[`${lib}.lua`];
    if (text === undefined) throw new Error(`${from} includes ${lib}.lua, which does not exist`);
    return text;
  });
}

function load(): Record<ScriptName, LuaScript> {
  const out: Partial<Record<string, LuaScript>> = {};
  for (const [file, text] of Object.entries(files)) {
    const m = SCRIPT_FILE.exec(file);
    if (m === null) continue;
    const source = expand(text, file);
    out[m[1]!] = { name: m[1] as ScriptName, numKeys: Number(m[2]), source, sha: createHash('sha1').update(source).digest('hex') };
  }
  return out as Record<ScriptName, LuaScript>;
}

export const scripts: Readonly<Record<ScriptName, LuaScript>> = Object.freeze(load());
