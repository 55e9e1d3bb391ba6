-- Event appends, pasted in place of `-- @include event-lib` (not a script itself). One call's
-- events are ONE stream entry with id <firstSeq>-0 (seqs from a counter, so a call's events get
-- consecutive seqs, strictly increasing in append order): the audit trail costs one XADD per
-- batch, and scripts that write a task's state append its events in the same step.

-- n events; ats their `at`s comma-separated; json the events as one JSON array. Returns the last seq.
local function appendEvents(streamKey, seqKey, floorKey, cap, n, ats, json)
  local last = redis.call('INCRBY', seqKey, n)
  local first = last - n + 1
  redis.call('XADD', streamKey, first .. '-0', 'a', ats, 'e', json)
  -- Backstop cap: move the floor up and drop entries wholly below it.
  local floor = tonumber(redis.call('GET', floorKey) or '1')
  if last - floor + 1 > cap then
    floor = last - cap + 1
    redis.call('SET', floorKey, floor)
    local holder = redis.call('XREVRANGE', streamKey, floor .. '-0', '-', 'COUNT', 1)
    if #holder > 0 then redis.call('XTRIM', streamKey, 'MINID', holder[1][1]) end
  end
  return last
end

-- Collects events of a batch: each part is one or more JSON objects joined by commas.
local EV_PARTS, EV_ATS, EV_COUNT = {}, {}, 0

local function collectEvents(n, ats, objects)
  if n <= 0 then return end
  EV_PARTS[#EV_PARTS + 1] = objects
  EV_ATS[#EV_ATS + 1] = ats
  EV_COUNT = EV_COUNT + n
end

local function flushEvents(streamKey, seqKey, floorKey, cap)
  if EV_COUNT == 0 then return end
  appendEvents(streamKey, seqKey, floorKey, cap, EV_COUNT, table.concat(EV_ATS, ','), '[' .. table.concat(EV_PARTS, ',') .. ']')
end
