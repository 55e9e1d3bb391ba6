// The conformance suite's corruption hooks for Redis: each writes bytes behind the adapter's back
// in exactly one place, with a plain client of the test's own.
import type { CorruptionHooks } from '@baton/conformance';
import { Redis } from 'ioredis';
import { makeKeys, type Keys } from '../src/keys.js';
import type { RedisBackend } from '../src/index.js';
import { REDIS_URL } from './helpers.js';

/** Not UTF-8, not JSON: what a foreign writer or a bad migration might leave. */
export const GARBAGE = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x00, 0x3a, 0x5b]);

const FIELD = { error: 'e', result: 'r' } as const;
/** Parts of the packed field `x` (task-lib.lua): input and budget live there. */
const PACKED_PART = { budget: 4, input: 6 } as const;

/** Replaces one '\n'-separated part of the task's `x` with GARBAGE, bytes kept as they are. */
async function corruptPacked(r: Redis, key: string, part: number): Promise<void> {
  const x = await r.hgetBuffer(key, 'x');
  if (x === null) throw new Error(`${key} has no packed field`);
  const parts: Buffer[] = [];
  let at = 0;
  for (let nl = x.indexOf(0x0a); nl >= 0 && parts.length < 6; nl = x.indexOf(0x0a, at)) {
    parts.push(x.subarray(at, nl));
    at = nl + 1;
  }
  parts.push(x.subarray(at));
  parts[part] = GARBAGE;
  await r.hset(key, 'x', Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [Buffer.from('\n'), p]))));
}

// Rewrites the stream with one event line replaced: stream entries cannot be edited in place.
const CORRUPT_EVENT = `
local seq = tonumber(ARGV[1])
local entries = redis.call('XRANGE', KEYS[1], '-', '+')
redis.call('DEL', KEYS[1])
for _, entry in ipairs(entries) do
  local id, fields = entry[1], entry[2]
  local first = tonumber(string.match(id, '^(%d+)-'))
  for j = 1, #fields, 2 do
    if fields[j] == 'e' then
      local lines = {}
      for line in string.gmatch(fields[j + 1], '[^\\n]+') do lines[#lines + 1] = line end
      if seq >= first and seq < first + #lines then lines[seq - first + 1] = ARGV[2] end
      fields[j + 1] = table.concat(lines, '\\n')
    end
  end
  redis.call('XADD', KEYS[1], id, unpack(fields))
end
`;

export function keysOf(b: RedisBackend): Keys {
  return makeKeys(b.prefix.slice(1, -2));
}

async function withRedis<T>(fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(REDIS_URL);
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

export const corruptionHooks: CorruptionHooks<RedisBackend> = {
  corruptTaskField: (b, taskId, field) =>
    withRedis(async (r) => {
      const key = keysOf(b).task(taskId);
      if (field === 'input' || field === 'budget') await corruptPacked(r, key, PACKED_PART[field]);
      else await r.hset(key, FIELD[field], GARBAGE);
    }),
  corruptCheckpoint: (b, taskId) => withRedis(async (r) => void (await r.hset(keysOf(b).checkpoint(taskId), 'b', Buffer.from([0x00, 0xff, 0x13, 0x37, 0x8b])))),
  corruptTimer: (b, timerId) => withRedis(async (r) => void (await r.hset(keysOf(b).timer(timerId), 'pl', GARBAGE))),
  corruptEvent: (b, seq) => withRedis(async (r) => void (await r.eval(CORRUPT_EVENT, 1, keysOf(b).events, seq, GARBAGE))),
  // The most extreme position a ready zset has: score -inf, so it is every claim's first candidate.
  injectBadDelivery: (b, queue) => withRedis(async (r) => void (await r.zadd(keysOf(b).ready(queue), '-inf', GARBAGE))),
  deleteTaskKeepDelivery: (b, taskId) => withRedis(async (r) => void (await r.del(keysOf(b).task(taskId)))),
};
