-- Shared by every script (pasted in place of `-- @include core-lib`, after the generated key
-- prelude). Every script is called with ARGV[1] the `{prefix}:`, ARGV[2] the cap on visible
-- events and ARGV[3] an id base unique to the call (lease and event ids are ID_BASE .. n); its
-- own arguments start at ARGV[4].
local EVENTS_CAP = tonumber(ARGV[2])
local ID_BASE = ARGV[3]

-- nowMs() as text, formatted once: Lua formats a number anew for every `..` it takes part in
-- (~0.3 µs each), and a batch writes the time into every event it builds. Set by nowMs(): read
-- only by scripts that called it first (those that start tasks).
local NOW_TEXT = ''

-- Milliseconds by the Redis server's clock: leases, delays, TTLs and stored times never read a
-- worker's clock.
local function nowMs()
  local t = redis.call('TIME')
  local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  NOW_TEXT = tostring(ms)
  return ms
end

-- Stored and passed nullable strings: absent, false or '' is null.
local function nz(s)
  if s == nil or s == false or s == '' then return nil end
  return s
end

-- ARGV encoding of a nullable string: '' is null, '=' .. value is a value (which may be empty).
local function opt(s)
  if s == nil or s == '' then return nil end
  return string.sub(s, 2)
end

-- A JSON string literal (or null): for the events scripts build themselves. Ids, names and
-- queue names rarely need escaping, and quoting them directly costs a fraction of cjson.encode.
local function jsonStr(s)
  if s == nil then return 'null' end
  if not string.find(s, '[%c"\\]') then return '"' .. s .. '"' end
  return cjson.encode(s)
end

-- Index changes are collected while a script walks its batch and written once at the end (one
-- variadic ZREM / ZADD per key): a redis.call costs far more than the Lua around it.
local ZREMS, ZADDS = {}, {}

local function push(t, key, a, b)
  local l = t[key]
  if not l then
    l = {}
    t[key] = l
  end
  l[#l + 1] = a
  if b ~= nil then l[#l + 1] = b end
end

local function chunked(cmd, key, list)
  for s = 1, #list, 4000 do redis.call(cmd, key, unpack(list, s, math.min(s + 3999, #list))) end
end

-- HMGET of any number of fields (Lua's unpack has a limit): the values in the fields' order.
local function hmgetAll(key, fields)
  if #fields <= 4000 then return redis.call('HMGET', key, unpack(fields)) end
  local out = {}
  for s = 1, #fields, 4000 do
    local part = redis.call('HMGET', key, unpack(fields, s, math.min(s + 3999, #fields)))
    for j = 1, #part do out[s + j - 1] = part[j] end
  end
  return out
end

local function flushIndexes()
  for key, list in pairs(ZREMS) do chunked('ZREM', key, list) end
  for key, list in pairs(ZADDS) do chunked('ZADD', key, list) end
  ZREMS, ZADDS = {}, {}
end
