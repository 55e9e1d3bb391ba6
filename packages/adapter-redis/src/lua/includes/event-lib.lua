-- Events ride with the writes they record (atomicEvents): collected while a script walks its
-- batch and appended at its end as ONE stream entry with id <firstSeq>-0 (seqs from a counter:
-- a call's events get consecutive seqs, strictly increasing in append order). Field `a` holds
-- their `at`s comma-separated (purge reads them without parsing), field `e` their JSON, one per
-- line (JSON text never holds a raw newline), so one undecodable event costs only itself.
-- Pasted in place of `-- @include event-lib`; needs core-lib.

local EV, EV_AT = {}, {}

local function addEvent(json, at)
  EV[#EV + 1] = json
  EV_AT[#EV_AT + 1] = at
end

-- Events handed to a task write: each is its JSON without the opening brace and without runId
-- and phaseId, which are taken from the task record (the port's rule), one per line; `ats`
-- their `at`s comma-separated. Appended only when the caller's write applied.
local function addEventsFor(runId, phaseId, ats, tails)
  if tails == nil or tails == '' then return end
  local head = '{"runId":' .. jsonStr(runId) .. ',"phaseId":' .. jsonStr(phaseId) .. ','
  if not string.find(tails, '\n', 1, true) then
    -- One event (the common case): no splitting.
    EV[#EV + 1] = head .. tails
    EV_AT[#EV_AT + 1] = ats
    return
  end
  for tail in string.gmatch(tails, '[^\n]+') do EV[#EV + 1] = head .. tail end
  for at in string.gmatch(ats, '[^,]+') do EV_AT[#EV_AT + 1] = at end
end

-- `record.quarantined` for a delivery, timer or event set aside (transitions.quarantinedEvent).
local function addQuarantined(kind, recordId, reason, raw, now)
  local id = ID_BASE .. 'q' .. (#EV + 1)
  addEvent('{"id":' .. jsonStr(id) .. ',"type":"record.quarantined","at":' .. now ..
    ',"runId":null,"phaseId":null,"taskId":null,"workerId":null,"data":{"kind":' .. jsonStr(kind) ..
    ',"recordId":' .. jsonStr(recordId) .. ',"reason":' .. jsonStr(reason) ..
    ',"raw":' .. jsonStr(string.sub(raw or '', 1, 4096)) .. '}}', now)
end

-- Appends `n` events (their `at`s and JSON lines) as one entry; returns the last seq. The cap
-- moves the floor up and drops entries wholly below it.
local function appendEvents(n, ats, lines)
  local last = redis.call('INCRBY', K.eventSeq, n)
  local first = last - n + 1
  redis.call('XADD', K.events, first .. '-0', 'a', ats, 'e', lines)
  -- The floor is at least 1: below the cap there is nothing to read.
  if last <= EVENTS_CAP then return last end
  local floor = tonumber(redis.call('GET', K.eventFloor) or '1')
  if last - floor + 1 > EVENTS_CAP then
    floor = last - EVENTS_CAP + 1
    redis.call('SET', K.eventFloor, floor)
    local holder = redis.call('XREVRANGE', K.events, floor .. '-0', '-', 'COUNT', 1)
    if #holder > 0 then redis.call('XTRIM', K.events, 'MINID', holder[1][1]) end
  end
  return last
end

local function flushEvents()
  if #EV == 0 then return end
  appendEvents(#EV, table.concat(EV_AT, ','), table.concat(EV, '\n'))
  EV, EV_AT = {}, {}
end
