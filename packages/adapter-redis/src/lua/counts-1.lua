-- counts: task counts by state and by (state, phase).
-- KEYS[1] counts hash ("state" | "state:phaseId" → count)
-- ARGV: none
-- Reply: the counts hash as a flat field/value array
return redis.call('HGETALL', KEYS[1])
