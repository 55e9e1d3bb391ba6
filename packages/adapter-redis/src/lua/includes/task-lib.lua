-- Task records, pasted in place of `-- @include task-lib`; needs core-lib and event-lib. Each
-- change below is the Lua translation of core's task-transitions.ts (the conformance
-- `transitions` suite compares every stored field with what those functions return).
--
-- K_task(id) hash (a field absent or '' reads as null / 0 / false):
--   st state · sq creation seq · ca/ua/sa/hb/fa created/updated/started/heartbeat/finished ms
--   ty type · k idempotency key · q queue · ru runId · ph phaseId · a attempt · rc recoveries
--   uc/ut usage · l leaseId · w workerId · cp hasCheckpoint · d durationMs · JSON: p progress,
--   r result, e error, cr corruption
--   x: the fields no script reads, written once at create (task-codec.ts packs and unpacks them):
--   id \n priority \n maxRetries \n group \n budget JSON \n traceContext JSON \n input JSON ('' for
--   null). One field instead of seven: each hash field costs every create's HSET and every
--   start's HGETALL. None of the parts holds a raw newline (ids and groups are control-free
--   text, JSON.stringify escapes newlines), and the input comes last, so no bytes in it can
--   shift the other parts.
-- Indexes: K.active (pending, running, scheduled) and K_finishedBySeq(state) by creation seq;
-- K_finishedByTime(state) by finish time (retention); K_run / K_phase by creation seq.

local TERMINAL = { completed = true, dead = true, cancelled = true }

local function stateSet(state)
  if TERMINAL[state] then return K_finishedBySeq(state) end
  return K.active
end

-- Moves a task's index entries from one state to another (the hash is written by the caller).
local function reindex(id, from, to, seq, now)
  local a, b = stateSet(from), stateSet(to)
  if a ~= b then
    push(ZREMS, a, id)
    push(ZADDS, b, seq, id)
  end
  if TERMINAL[from] and from ~= to then push(ZREMS, K_finishedByTime(from), id) end
  if TERMINAL[to] then push(ZADDS, K_finishedByTime(to), now, id) end
end

-- Every function below only writes `now`, never computes with it: the hot callers pass NOW_TEXT,
-- since a number handed to redis.call is formatted anew each time (~0.3 µs per field).

-- The lease fields every change that ends or hands back a run clears, with updatedAt = now.
local function unleased(to, now)
  return { 'st', to, 'ua', now, 'l', '', 'w', '', 'hb', '' }
end

local function add(f, k, v) f[#f + 1] = k; f[#f + 1] = v end

-- Takes idempotency key `key` for a new task `id` (create, create-one): nil when the task may be
-- created (the key maps to it now, for `ttl` ms), else the id of the task that is there already:
-- the live task holding the key, or `id` itself when that id exists. A key whose task was purged
-- or deleted is taken over.
local function takeKey(key, id, ttl)
  local keyKey = K_idempotencyKey(key)
  if not redis.call('SET', keyKey, id, 'NX', 'PX', ttl) then
    local holder = redis.call('GET', keyKey)
    if holder and redis.call('EXISTS', K_task(holder)) == 1 then return holder end
    redis.call('SET', keyKey, id, 'PX', ttl)
  end
  if redis.call('EXISTS', K_task(id)) == 1 then return id end
  return nil
end

-- The fields of a new pending task (HSET arguments), created now; `x` its packed fields (task-codec.ts).
local function newTaskFields(seq, ty, key, q, x)
  return { 'st', 'pending', 'sq', seq, 'ca', NOW_TEXT, 'ua', NOW_TEXT, 'ty', ty, 'k', key, 'q', q, 'x', x }
end

local STATES = { pending = true, running = true, scheduled = true, completed = true, dead = true, cancelled = true }

-- transitions.start: pending → running under leaseId. Returns the task's hash as it was before
-- (the adapter applies transitions.start to it: the change is exactly those six fields) and its
-- fields by name; else the state ('running\t<leaseId>' for a running task), or 0 for an unknown
-- id. A hash without a known state is returned unwritten, for the adapter to quarantine.
local function startTask(id, leaseId, workerId, now)
  local tk = K_task(id)
  local h = redis.call('HGETALL', tk)
  if #h == 0 then return 0 end
  local f = {}
  for j = 1, #h, 2 do f[h[j]] = h[j + 1] end
  if not STATES[f.st] then return h end
  if f.st ~= 'pending' then
    if f.st == 'running' then return 'running\t' .. (f.l or '') end
    return f.st
  end
  redis.call('HSET', tk, 'st', 'running', 'l', leaseId, 'w', workerId, 'sa', now, 'hb', now, 'ua', now)
  return h, f
end

-- transitions.startedEvent of each task startAll starts, in the compact form event-codec.ts
-- expands (a line starting with \1s, tab-separated fields; '' for null): building JSON here
-- cost more than the rest of a start.
local function addStartedEvent(id, workerId, f)
  addEvent('\1s\t' .. ID_BASE .. 's' .. (#EV + 1) .. '\t' .. NOW_TEXT .. '\t' .. (f.ru or '') .. '\t' .. (f.ph or '') .. '\t' .. id ..
    '\t' .. workerId .. '\t' .. (nz(f.a) or '0') .. '\t' .. (nz(f.rc) or '0') .. '\t' .. (f.q or ''), NOW_TEXT)
end

-- Starts each claim (flat taskId, leaseId, workerId) and returns per claim what startTask answered.
local function startAll(claims, startedEvents, now)
  local out = {}
  for i = 1, #claims, 3 do
    local reply, f = startTask(claims[i], claims[i + 1], claims[i + 2], now)
    if f and startedEvents then addStartedEvent(claims[i], claims[i + 2], f) end
    out[#out + 1] = reply
  end
  return out
end

-- transitions.finish, if the task runs under leaseId. Returns the record's runId and phaseId
-- (for the outcome's events) when applied, nil when refused.
local function finishTask(id, leaseId, to, result, err, duration, now)
  local tk = K_task(id)
  local cur = redis.call('HMGET', tk, 'st', 'l', 'sq', 'ru', 'ph')
  if cur[1] ~= 'running' or cur[2] ~= leaseId then return nil end
  local f = unleased(to, now)
  if to == 'completed' then
    add(f, 'r', result or '')
    add(f, 'e', '')
    add(f, 'fa', now)
  elseif to == 'dead' then
    add(f, 'fa', now)
  end
  if to ~= 'pending' then
    if err and to ~= 'completed' then add(f, 'e', err) end
    if duration then add(f, 'd', duration) end
  end
  redis.call('HSET', tk, unpack(f))
  if to == 'scheduled' then redis.call('HINCRBY', tk, 'a', 1) end
  reindex(id, 'running', to, cur[3], now)
  return cur
end

-- transitions.recover: 'recovered' | 'dead' | 'skipped', and the record for the events.
local function recoverTask(id, leaseId, maxRecoveries, poisonPill, now)
  local tk = K_task(id)
  local cur = redis.call('HMGET', tk, 'st', 'l', 'sq', 'ru', 'ph', 'rc')
  if cur[1] ~= 'running' or cur[2] ~= leaseId then return 'skipped', cur end
  local recoveries = (tonumber(cur[6]) or 0) + 1
  if recoveries > maxRecoveries then
    local f = unleased('dead', now)
    add(f, 'rc', recoveries)
    add(f, 'e', poisonPill)
    add(f, 'fa', now)
    redis.call('HSET', tk, unpack(f))
    reindex(id, 'running', 'dead', cur[3], now)
    return 'dead', cur
  end
  local f = unleased('pending', now)
  add(f, 'rc', recoveries)
  redis.call('HSET', tk, unpack(f))
  reindex(id, 'running', 'pending', cur[3], now)
  return 'recovered', cur
end

-- transitions.transition: unfenced move of a task whose state is in `from`.
local function transitionTask(id, from, to, err, now)
  local tk = K_task(id)
  local cur = redis.call('HMGET', tk, 'st', 'sq', 'ru', 'ph')
  if not cur[1] or not from[cur[1]] then return nil end
  local f = unleased(to, now)
  if err then add(f, 'e', err) end
  if TERMINAL[to] then add(f, 'fa', now) end
  redis.call('HSET', tk, unpack(f))
  reindex(id, cur[1], to, cur[2], now)
  return { cur[1], cur[2], cur[3], cur[4] }
end

-- transitions.retry: a finished task back to pending for another run.
local function retryTask(id, reset, now)
  local tk = K_task(id)
  local cur = redis.call('HMGET', tk, 'st', 'sq', 'ru', 'ph')
  if not cur[1] or not TERMINAL[cur[1]] then return nil end
  local f = unleased('pending', now)
  add(f, 'r', '')
  add(f, 'p', '')
  add(f, 'd', '')
  add(f, 'fa', '')
  if reset then
    add(f, 'a', 0)
    add(f, 'rc', 0)
  end
  redis.call('HSET', tk, unpack(f))
  reindex(id, cur[1], 'pending', cur[2], now)
  return cur
end

-- transitions.quarantine, once: a task whose record does not decode goes dead with its error
-- (composed by core) and its corruption kept. Returns the record for the event, or nil when
-- the task is unknown or already quarantined.
local function quarantineTask(id, corruption, err, now)
  local tk = K_task(id)
  local cur = redis.call('HMGET', tk, 'st', 'sq', 'ru', 'ph', 'cr')
  if not cur[1] or nz(cur[5]) then return nil end
  local f = unleased('dead', now)
  add(f, 'e', err)
  add(f, 'fa', now)
  add(f, 'cr', corruption)
  redis.call('HSET', tk, unpack(f))
  reindex(id, cur[1], 'dead', cur[2], now)
  return cur
end

-- Whether the task runs under leaseId (the fence of every holder's write); its record if so.
local function holding(id, leaseId)
  local cur = redis.call('HMGET', K_task(id), 'st', 'l', 'ru', 'ph')
  if cur[1] ~= 'running' or cur[2] ~= leaseId then return nil end
  return cur
end

-- Deletes a task's checkpoint and takes it off the stats; true when there was one. Callers that
-- keep the task clear its `cp` flag themselves.
local function dropCheckpoint(id)
  local ck = K_checkpoint(id)
  local bytes = redis.call('HGET', ck, 'n')
  if not bytes then return false end
  redis.call('DEL', ck)
  redis.call('HINCRBY', K.checkpointStats, 'count', -1)
  redis.call('HINCRBY', K.checkpointStats, 'bytes', -tonumber(bytes))
  return true
end

-- Removes a task with its indexes, key mapping and checkpoint.
local function removeTask(id)
  local tk = K_task(id)
  local cur = redis.call('HMGET', tk, 'st', 'ru', 'ph', 'k')
  if cur[1] then
    push(ZREMS, stateSet(cur[1]), id)
    if TERMINAL[cur[1]] then push(ZREMS, K_finishedByTime(cur[1]), id) end
    if nz(cur[2]) then push(ZREMS, K_run(cur[2]), id) end
    if nz(cur[3]) then push(ZREMS, K_phase(cur[3]), id) end
    if cur[4] and redis.call('GET', K_idempotencyKey(cur[4])) == id then redis.call('DEL', K_idempotencyKey(cur[4])) end
    redis.call('DEL', tk)
  end
  dropCheckpoint(id)
end
