-- The queue, pasted in place of `-- @include queue-lib`; needs core-lib and event-lib.
--
-- A delivery is one field of K.deliveries: taskId → `state \t queue \t priority \t seq \t x \t group`
-- with state r (ready, x = readyKey: its ready member without the taskId, so a claim checks an
-- entry against its record with one concatenation), d (delayed, x = due ms) or l (leased,
-- x = leaseId); group '' is none. HSETNX on that hash is the "one live delivery per task" gate. Ready deliveries sit in
-- their queue's zset K_ready(q), score −priority, member <readyAt hex12><seq hex12><taskId>: Redis
-- orders equal scores by member bytes, so a zset head is the highest priority, then the oldest
-- readiness, then the oldest enqueue. A grouped delivery waits in its group's lane K_lane(q, g)
-- (same score and member); only the head of each lane that may hand one out (group under its
-- queue's groupConcurrency) is also in K_ready(q). So the head of K_ready(q) is always the best
-- delivery the queue may hand out, and a claim never steps over capped deliveries.

local function parseDelivery(v)
  if not v then return nil end
  local s, q, pr, sq, x, g = string.match(v, '^([rdl])\t([^\t]+)\t(-?%d+)\t(%d+)\t([^\t]+)\t(.*)$')
  if not s then return nil end
  -- Priority and seq stay text: a record is rebuilt from them far more often than they are
  -- computed with (Lua coerces them where they are).
  return { s = s, q = q, pr = pr, sq = sq, x = x, g = g }
end

local function deliveryRecord(s, q, pr, sq, x, g)
  return s .. '\t' .. q .. '\t' .. pr .. '\t' .. sq .. '\t' .. x .. '\t' .. g
end

local function readyKey(readyAt, seq)
  return string.format('%012x%012x', readyAt, seq)
end

-- Claim order of two zset entries: score, then readiness and enqueue order (compared as numbers,
-- so no locale can reorder them). An entry that does not parse sorts first: it is set aside at once.
local function before(s1, m1, s2, m2)
  local a, b = tonumber(s1), tonumber(s2)
  if a == nil then return true end
  if b == nil then return false end
  if a ~= b then return a < b end
  local r1, r2 = tonumber(string.sub(m1, 1, 12), 16), tonumber(string.sub(m2, 1, 12), 16)
  if r1 == nil then return true end
  if r2 == nil then return false end
  if r1 ~= r2 then return r1 < r2 end
  return (tonumber(string.sub(m1, 13, 24), 16) or -1) < (tonumber(string.sub(m2, 13, 24), 16) or -1)
end

-- Queue settings, leased count and rate bucket, read once per script and written back by flushQueues.
local QM = {}
local WAKE = {}

local function queueMeta(q)
  local m = QM[q]
  if m then return m end
  local v = redis.call('HMGET', K_queueMeta(q), 'p', 'c', 'gc', 'rm', 'rp', 'rt', 'ro', 'l')
  m = { paused = v[1] == '1', conc = tonumber(v[2]), gc = tonumber(v[3]), rm = tonumber(v[4]), rp = tonumber(v[5]),
        tat = tonumber(v[6]) or 0, origin = tonumber(v[7]) or 0, leased = tonumber(v[8]) or 0, delta = 0, bucket = false }
  QM[q] = m
  return m
end

-- The token bucket (GCRA, the memory adapter's rate-bucket.ts): units of 1/max ms from an origin.
local function bucketFits(m, now)
  return m.tat - (now - m.origin) * m.rm <= m.rp * (m.rm - 1)
end

local function bucketTake(m, now)
  local units = (now - m.origin) * m.rm
  if m.tat <= units then
    m.origin, m.tat, units = now, 0, 0
  elseif units > 1099511627776 then
    m.tat = m.tat - (now - m.origin) * m.rm
    m.origin, units = now, 0
  end
  m.tat = math.max(m.tat, units) + m.rp
  m.bucket = true
end

local function bucketAllowedAt(m)
  return m.origin + math.ceil((m.tat - m.rp * (m.rm - 1)) / m.rm)
end

local function groupLeased(q, g)
  return tonumber(redis.call('HGET', K_groupLeased(q), g) or '0')
end

local function laneOpen(q, g)
  local cap = queueMeta(q).gc
  return cap == nil or groupLeased(q, g) < cap
end

local function laneHead(q, g)
  local h = redis.call('ZRANGE', K_lane(q, g), 0, 0, 'WITHSCORES')
  if #h == 0 then return nil end
  return h[1], h[2]
end

-- Adds a ready member to its group's lane; the lane's head in K_ready(q) follows.
local function laneAdd(q, g, score, member)
  local lane = K_lane(q, g)
  local oldHead = laneHead(q, g)
  redis.call('ZADD', lane, score, member)
  if oldHead == nil then
    redis.call('SADD', K_groupLanes(q), g)
    if laneOpen(q, g) then redis.call('ZADD', K_ready(q), score, member) end
  elseif laneHead(q, g) == member and redis.call('ZREM', K_ready(q), oldHead) == 1 then
    -- The lane is open (its old head was in the ready set) and the new member goes first.
    redis.call('ZADD', K_ready(q), score, member)
  end
end

-- After a lane lost its head (claimed or removed): the next one goes to K_ready(q) if the lane is open.
local function laneAdvance(q, g)
  local head, score = laneHead(q, g)
  if head == nil then
    redis.call('SREM', K_groupLanes(q), g)
  elseif laneOpen(q, g) then
    redis.call('ZADD', K_ready(q), score, head)
  end
end

-- Makes a delivery ready in its queue, readiness `readyAt`.
local function makeReady(id, q, pr, sq, readyAt, g)
  local key = readyKey(readyAt, sq)
  redis.call('HSET', K.deliveries, id, deliveryRecord('r', q, pr, sq, key, g))
  local member = key .. id
  if g == '' then redis.call('ZADD', K_ready(q), -pr, member) else laneAdd(q, g, -pr, member) end
  WAKE[q] = true
end

-- Takes a ready delivery out of the ready set (its record is rewritten by the caller).
local function dropReady(id, d)
  local member = d.x .. id
  local wasHead = redis.call('ZREM', K_ready(d.q), member) == 1
  if d.g ~= '' and redis.call('ZREM', K_lane(d.q, d.g), member) == 1 then
    if wasHead then laneAdvance(d.q, d.g) elseif redis.call('ZCARD', K_lane(d.q, d.g)) == 0 then redis.call('SREM', K_groupLanes(d.q), d.g) end
  end
end

-- A leased delivery stops being leased (ack, release, reclaim, remove): its slot is free again.
-- Callers flush ZREMS (flushIndexes) before they return.
local function unlease(id, d)
  push(ZREMS, K.leases, id)
  local m = queueMeta(d.q)
  m.leased = m.leased - 1
  m.delta = m.delta - 1
  if d.g ~= '' then
    local before = groupLeased(d.q, d.g)
    if before <= 1 then redis.call('HDEL', K_groupLeased(d.q), d.g) else redis.call('HINCRBY', K_groupLeased(d.q), d.g, -1) end
    -- A lane that was at its cap opens again: its head becomes claimable.
    if m.gc ~= nil and before >= m.gc and before - 1 < m.gc then
      local head, score = laneHead(d.q, d.g)
      if head ~= nil then redis.call('ZADD', K_ready(d.q), score, head) end
    end
  end
  if m.conc ~= nil or m.gc ~= nil then WAKE[d.q] = true end
end

-- A leased delivery goes back to its queue, lease and slot freed: ready now (readiness `now`),
-- or delayed until `now + delay`. Callers flush ZREMS (flushIndexes) before they return.
local function releaseDelivery(id, d, delay, now)
  unlease(id, d)
  if delay > 0 then
    redis.call('HSET', K.deliveries, id, deliveryRecord('d', d.q, d.pr, d.sq, now + delay, d.g))
    redis.call('ZADD', K_delayed(d.q), now + delay, id)
    WAKE[d.q] = true
  else
    makeReady(id, d.q, d.pr, d.sq, now, d.g)
  end
end

-- A delivery record that does not decode is moved to K.deliveriesQuarantined and reported.
local function quarantineDelivery(id, raw, reason, now)
  if raw then
    redis.call('HSET', K.deliveriesQuarantined, id, raw)
    redis.call('HDEL', K.deliveries, id)
  end
  addQuarantined('delivery', id, reason, raw or '', now)
end

-- Due delayed deliveries of a queue become ready, their readiness the due time.
local function promoteDue(q, now)
  local due = redis.call('ZRANGEBYSCORE', K_delayed(q), '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1000)
  if #due == 0 then return end
  local ids = {}
  for i = 1, #due, 2 do
    local id = due[i]
    ids[#ids + 1] = id
    local v = redis.call('HGET', K.deliveries, id)
    local d = parseDelivery(v)
    if d and d.s == 'd' and d.q == q then
      makeReady(id, q, d.pr, d.sq, tonumber(due[i + 1]), d.g)
    elseif v and not d then
      quarantineDelivery(id, v, 'delivery record does not decode', now)
    end
  end
  chunked('ZREM', K_delayed(q), ids)
end

-- A ready delivery, now, for an ungrouped task unless it has a live delivery (enqueueOne's
-- commonest case, and create-one's). Returns true when it created it; the caller wakes the queue.
local function enqueueReady(id, q, pr, seq, now)
  local key = readyKey(now, seq)
  if redis.call('HSETNX', K.deliveries, id, deliveryRecord('r', q, pr, seq, key, '')) == 0 then return false end
  redis.call('ZADD', K_ready(q), -pr, key .. id)
  return true
end

-- Makes a task deliverable in its queue (after its delay) unless it has a live delivery; `seq`
-- its enqueue order. Returns true when it created the delivery.
local function enqueueOne(id, q, pr, g, delay, seq, now)
  if delay > 0 then
    if redis.call('HSETNX', K.deliveries, id, deliveryRecord('d', q, pr, seq, now + delay, g)) == 0 then return false end
    redis.call('ZADD', K_delayed(q), now + delay, id)
  elseif g == '' then
    if not enqueueReady(id, q, pr, seq, now) then return false end
  else
    local key = readyKey(now, seq)
    if redis.call('HSETNX', K.deliveries, id, deliveryRecord('r', q, pr, seq, key, g)) == 0 then return false end
    laneAdd(q, g, -pr, key .. id)
  end
  WAKE[q] = true
  return true
end

-- enqueueOne of each item of a flat list (from index `from`): taskId, queue, priority, group
-- ('' none), delayMs. Enqueue order comes from the same counter as creation order.
local function enqueueItems(items, from, now)
  local n = (#items - from + 1) / 5
  local seq = redis.call('INCRBY', K.seq, n) - n
  local created = 0
  for i = from, #items, 5 do
    seq = seq + 1
    if enqueueOne(items[i], items[i + 1], tonumber(items[i + 2]), items[i + 3], tonumber(items[i + 4]), seq, now) then created = created + 1 end
  end
  return created
end

-- Leases up to `limit` of the best deliveries the listed queues may hand out now, each under
-- ID_BASE .. n until `expiry`. Returns the flat list taskId, leaseId, ... in claim order. The
-- heads of each queue are read with their delivery records in one ZRANGE and one HMGET, and
-- taken out of the ready set in one ZREM (before any re-read of that queue's heads).
local function claimDeliveries(queues, limit, expiry, now)
  local live = {}
  for _, q in ipairs(queues) do
    local m = queueMeta(q)
    promoteDue(q, now)
    if not m.paused then live[#live + 1] = q end
  end
  local out, heads, taking = {}, {}, {}
  local dvs, leases = {}, {}
  -- Formatted once: a number passed to redis.call is formatted anew for every element.
  local expiryText = tostring(expiry)
  local function untake(q)
    local t = taking[q]
    if t and #t > 0 then chunked('ZREM', K_ready(q), t) end
    taking[q] = {}
  end
  local n = 0
  while n < limit do
    local bestQ, bestM, bestS
    for _, q in ipairs(live) do
      local m = QM[q]
      if (m.conc == nil or m.leased < m.conc) and (m.rm == nil or bucketFits(m, now)) then
        local h = heads[q]
        if h == nil or (h.i > #h.list and h.full) then
          untake(q)
          local want = limit - n
          h = { list = redis.call('ZRANGE', K_ready(q), 0, want - 1, 'WITHSCORES'), i = 1 }
          h.full = #h.list == 2 * want
          if #h.list > 0 then
            local ids = {}
            for j = 1, #h.list, 2 do ids[#ids + 1] = string.sub(h.list[j], 25) end
            h.recs = redis.call('HMGET', K.deliveries, unpack(ids))
          end
          heads[q] = h
        end
        if h.i < #h.list and (bestQ == nil or before(h.list[h.i + 1], h.list[h.i], bestS, bestM)) then
          bestQ, bestM, bestS = q, h.list[h.i], h.list[h.i + 1]
        end
      end
    end
    if bestQ == nil then break end
    local h = heads[bestQ]
    local v = h.recs[(h.i + 1) / 2]
    h.i = h.i + 2
    local t = taking[bestQ] or {}
    taking[bestQ] = t
    t[#t + 1] = bestM
    local id = string.sub(bestM, 25)
    local d = parseDelivery(v)
    if d == nil or d.s ~= 'r' or d.q ~= bestQ or d.x .. id ~= bestM then
      -- Not a delivery this store wrote (or one whose record moved on): set aside, never handed out.
      if d == nil then quarantineDelivery(id, v, 'ready entry has no decodable delivery record', now)
      else addQuarantined('delivery', bestM, 'ready entry does not match its delivery record', bestM, now) end
    else
      local m = QM[bestQ]
      if d.g ~= '' then
        untake(bestQ)
        redis.call('ZREM', K_lane(bestQ, d.g), bestM)
        redis.call('HINCRBY', K_groupLeased(bestQ), d.g, 1)
        laneAdvance(bestQ, d.g)
        heads[bestQ] = nil
      end
      m.leased = m.leased + 1
      m.delta = m.delta + 1
      if m.rm ~= nil then bucketTake(m, now) end
      n = n + 1
      local leaseId = ID_BASE .. n
      dvs[#dvs + 1] = id
      dvs[#dvs + 1] = deliveryRecord('l', bestQ, d.pr, d.sq, leaseId, d.g)
      leases[#leases + 1] = expiryText
      leases[#leases + 1] = id
      out[#out + 1] = id
      out[#out + 1] = leaseId
    end
  end
  for q in pairs(taking) do untake(q) end
  if n > 0 then
    redis.call('HSET', K.deliveries, unpack(dvs))
    redis.call('ZADD', K.leases, unpack(leases))
  end
  return out
end

-- For a claim that found nothing and waits up to waitMs: the last wake entry of each listed
-- queue (a blocking XREAD after them returns on the next one; the queue is marked as waited on
-- until now + waitMs + 30 s, so writes add wake entries) and the ms until a delayed delivery is
-- due or a rate limit lets a ready one through (-1: none).
local function wakeInfo(queues, waitMs, now)
  local ids = {}
  local at = nil
  local ttl = waitMs + 30000
  for i, q in ipairs(queues) do
    -- Never shortened: another claim may wait on the queue for longer.
    if (tonumber(redis.call('HGET', K.queueNames, q)) or 0) < now + ttl then redis.call('HSET', K.queueNames, q, now + ttl) end
    local last = redis.call('XREVRANGE', K_wake(q), '+', '-', 'COUNT', 1)
    ids[i] = #last > 0 and last[1][1] or '0-0'
    local first = redis.call('ZRANGE', K_delayed(q), 0, 0, 'WITHSCORES')
    if #first > 0 then at = math.min(at or math.huge, tonumber(first[2])) end
    local m = QM[q]
    if m and m.rm ~= nil and not m.paused and not bucketFits(m, now) and redis.call('ZCARD', K_ready(q)) > 0 then
      at = math.min(at or math.huge, math.max(now + 1, bucketAllowedAt(m)))
    end
  end
  local nextIn = -1
  if at ~= nil then nextIn = math.max(0, at - now) end
  return ids, nextIn
end

-- Registers queue q (its first delivery) or, when a claim waits on it, wakes that claim: one
-- read tells both, and a wake entry is written only then (an XADD costs several times the check).
local function wakeQueue(q)
  local mark = redis.call('HGET', K.queueNames, q)
  if not mark then
    redis.call('HSET', K.queueNames, q, 0)
  elseif (tonumber(mark) or 0) > ((NOW_TEXT ~= '' and tonumber(NOW_TEXT)) or nowMs()) then
    redis.call('XADD', K_wake(q), 'MAXLEN', 1, '*', 'w', 1)
  end
end

-- Writes back leased counts and buckets, and wakes the queues that may have become claimable.
local function flushQueues()
  for q, m in pairs(QM) do
    if m.delta ~= 0 and redis.call('HINCRBY', K_queueMeta(q), 'l', m.delta) < 0 then redis.call('HSET', K_queueMeta(q), 'l', 0) end
    if m.bucket then redis.call('HSET', K_queueMeta(q), 'rt', m.tat, 'ro', m.origin) end
    m.delta, m.bucket = 0, false
  end
  for q in pairs(WAKE) do wakeQueue(q) end
  WAKE = {}
end
