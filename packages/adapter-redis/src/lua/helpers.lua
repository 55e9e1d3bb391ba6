-- Shared helpers, pasted by the loader in place of `-- @include helpers` (not a script itself).
-- Task layout (P is the `{prefix}:` hash tag, so every key lives in one Cluster slot):
--   P t:<id> hash: st state · sq creation seq · ua/sa/fa updated/started/finished ms · l lease · w worker
--     a attempt · rc recoveries · uc/ut usage · cp hasCheckpoint · r result · e error · d duration
--     x = [createdAt, type, key, runId, phaseId, maxRetries, budget, input] (immutable, one field)
--     ty / k / ru / ph copies of type, key, runId, phaseId for filters and cleanup. Absent = 0 / null.
--   P s:active zset of pending, running and scheduled tasks by seq (creation order)
--   P s:<completed|dead|cancelled> zsets by finish time · P run:<runId> / P ph:<phaseId> zsets by seq
--   P counts hash "state" | "state:phaseId" → count · P k:<key> idempotency key → task id

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

-- Index and counter changes are collected while a script walks its batch and written once at the
-- end (one variadic ZREM / ZADD per key, one HINCRBY per counter): a redis.call costs about a
-- microsecond, far more than the Lua around it.
local ZREMS, ZADDS, DELTAS = {}, {}, {}

local function append(t, key, a, b)
  local l = t[key]
  if not l then
    l = {}
    t[key] = l
  end
  l[#l + 1] = a
  if b ~= nil then l[#l + 1] = b end
end

-- Task counts per state and per (state, phase).
local function count(state, phase, by)
  local field = state
  if phase then field = state .. ':' .. phase end
  DELTAS[field] = (DELTAS[field] or 0) + by
end

-- Moves a task's index entry and counters from one state to another (the hash is written by the
-- caller). Moves between active states (pending, running, scheduled) touch no zset.
local function reindex(P, id, from, to, seq, phase, now)
  if from == to then return end
  if TERMINAL[from] then append(ZREMS, P .. 's:' .. from, id) elseif TERMINAL[to] then append(ZREMS, P .. 's:active', id) end
  if TERMINAL[to] then append(ZADDS, P .. 's:' .. to, now, id) elseif TERMINAL[from] then append(ZADDS, P .. 's:active', seq, id) end
  count(from, phase, -1)
  count(to, phase, 1)
end

local function chunked(cmd, key, list)
  for s = 1, #list, 4000 do redis.call(cmd, key, unpack(list, s, math.min(s + 3999, #list))) end
end

-- Writes what reindex / count / append collected; call once at the end of a script.
local function flush(countsKey)
  for key, list in pairs(ZREMS) do chunked('ZREM', key, list) end
  for key, list in pairs(ZADDS) do chunked('ZADD', key, list) end
  for field, by in pairs(DELTAS) do
    if by ~= 0 and redis.call('HINCRBY', countsKey, field, by) <= 0 then redis.call('HDEL', countsKey, field) end
  end
end

-- Deletes a task's checkpoint and takes it off the stats hash; true when there was one. Callers
-- that keep the task clear its `cp` flag themselves.
local function dropCheckpoint(P, id, statsKey)
  local ck = P .. 'cp:' .. id
  local bytes = redis.call('HGET', ck, 'n')
  if not bytes then return false end
  redis.call('DEL', ck)
  redis.call('HINCRBY', statsKey, 'count', -1)
  redis.call('HINCRBY', statsKey, 'bytes', -tonumber(bytes))
  return true
end
