-- timer-quarantine: sets aside timers the adapter could not decode: out of every index (never
-- handed out, not counted by nextDueIn or list), the hash kept under K_timerQuarantined(id),
-- one `record.quarantined` event each.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] triples: timer id, reason, raw text
-- Reply: how many were set aside
-- @include event-lib
-- @include timer-lib
local now = nowMs()
local n = 0
for i = 4, #ARGV, 3 do
  local id = ARGV[i]
  if redis.call('EXISTS', K_timer(id)) == 1 then
    unindexTimer(id)
    redis.call('RENAME', K_timer(id), K_timerQuarantined(id))
    addQuarantined('timer', id, ARGV[i + 1], ARGV[i + 2], now)
    n = n + 1
  end
end
flushEvents()
return n
