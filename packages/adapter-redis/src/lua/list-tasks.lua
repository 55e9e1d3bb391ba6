-- list-tasks: walks creation-ordered indexes from a cursor, merged by creation seq, and returns
-- the tasks matching every filter, stopping after `want` matches or `budget` index entries.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] cursor (creation seq to resume after) · ARGV[5] want · ARGV[6] budget
-- ARGV[7] states, comma-separated ('' any) · ARGV[8] type? · ARGV[9] queue? · ARGV[10] runId?
-- ARGV[11] phaseId? · ARGV[12] since? · ARGV[13] until? · ARGV[14] idleForMs? ('' none, '=' .. value)
-- ARGV[15..] sources: 'active', a terminal state, 'run' or 'phase'
-- Reply: { seq walked up to, 1 when every source is exhausted, then seq, hash, seq, hash, ... }
local cursor, want, budget = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local states = nil
if ARGV[7] ~= '' then
  states = {}
  for s in string.gmatch(ARGV[7], '[^,]+') do states[s] = true end
end
local ty, queue, runId, phaseId = opt(ARGV[8]), opt(ARGV[9]), opt(ARGV[10]), opt(ARGV[11])
local since, untilMs, idle = tonumber(opt(ARGV[12])), tonumber(opt(ARGV[13])), tonumber(opt(ARGV[14]))
local idleBefore = nil
if idle then idleBefore = nowMs() - idle end
local entries = {}
local bound = math.huge
for i = 15, #ARGV do
  local s = ARGV[i]
  local key
  if s == 'active' then key = K.active
  elseif s == 'run' then key = K_run(runId)
  elseif s == 'phase' then key = K_phase(phaseId)
  else key = K_finishedBySeq(s) end
  local got = redis.call('ZRANGEBYSCORE', key, '(' .. cursor, '+inf', 'WITHSCORES', 'LIMIT', 0, budget)
  for j = 1, #got, 2 do entries[#entries + 1] = { tonumber(got[j + 1]), got[j] } end
  -- A source cut short bounds what is known to be complete: nothing past its last entry is walked.
  if #got == 2 * budget then bound = math.min(bound, tonumber(got[#got])) end
end
table.sort(entries, function(a, b) return a[1] < b[1] end)
local out = { 0, 1 }
local walked = cursor
local found = 0
for _, e in ipairs(entries) do
  if e[1] > bound then break end
  walked = e[1]
  local tk = K_task(e[2])
  local cur = redis.call('HMGET', tk, 'st', 'ty', 'q', 'ru', 'ph', 'ca', 'ua')
  if cur[1]
    and (not states or states[cur[1]])
    and (not ty or cur[2] == ty)
    and (not queue or cur[3] == queue)
    and (not runId or cur[4] == runId)
    and (not phaseId or cur[5] == phaseId)
    and (not since or tonumber(cur[6]) >= since)
    and (not untilMs or tonumber(cur[6]) < untilMs)
    and (not idleBefore or tonumber(cur[7]) <= idleBefore) then
    out[#out + 1] = e[1]
    out[#out + 1] = redis.call('HGETALL', tk)
    found = found + 1
    if found >= want then
      out[1] = walked
      out[2] = 0
      return out
    end
  end
end
if bound ~= math.huge then
  out[1] = bound
  out[2] = 0
else
  out[1] = walked
end
return out
