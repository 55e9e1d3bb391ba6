-- Shared helpers, pasted by the loader in place of `-- @include helpers` (not a script itself).
-- Key layout (P is the `{prefix}:` hash tag, so every key lives in one Cluster slot):
--   P t:<id> task hash · P s:<state> zset by creation seq · P f:<state> zset by finishedAt
--   P run:<runId> / P ph:<phaseId> zsets by seq · P k:<key> idempotency key → task id

-- Milliseconds by the Redis server's clock: leases, delays and TTLs never read a worker's clock.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local TERMINAL = { completed = true, dead = true, cancelled = true }

-- ARGV encoding of a nullable string: '' is null, '=' .. value is a value (which may be empty).
local function opt(s)
  if s == nil or s == '' then return nil end
  return string.sub(s, 2)
end

-- Counts per (state, phase) are kept as hash fields "state" or "state:phaseId"; zero fields are dropped.
local function bump(countsKey, state, phase, by)
  local field = state
  if phase then field = state .. ':' .. phase end
  if redis.call('HINCRBY', countsKey, field, by) <= 0 then redis.call('HDEL', countsKey, field) end
end

-- Moves a task's index entries and counters from one state to another (the hash is written by the caller).
local function reindex(P, countsKey, id, from, to, seq, phase, now)
  if from == to then return end
  redis.call('ZREM', P .. 's:' .. from, id)
  redis.call('ZADD', P .. 's:' .. to, seq, id)
  if TERMINAL[from] then redis.call('ZREM', P .. 'f:' .. from, id) end
  if TERMINAL[to] then redis.call('ZADD', P .. 'f:' .. to, now, id) end
  bump(countsKey, from, phase, -1)
  bump(countsKey, to, phase, 1)
end
