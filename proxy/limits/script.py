"""The one Lua script of the limit sync: a heartbeat plus every key of a round, atomically.

KEYS[1] is the replica set (a sorted set: worker id -> last heartbeat, Redis time); then three
keys per limit (a sorted set, a hash, and a hash of what each worker holds unspent). ARGV:
worker id, heartbeat TTL in ms, clock offset (seconds added to Redis's clock; 0 outside tests),
then ten per limit: kind, limit, span, want, give, debt, entry, extra, probe, held.

- kind "w", a sliding-window log (`proxy.limits.window` states the rules): the sorted set holds
  entry id -> stamp, the hash entry id -> amount and `_u`, the amount in the window. Entries at
  or before now - span leave; `give` ("id:amount,...") shrinks named entries (leases handed
  back, refunds); `debt` is added without a check; then a grant of `want` (only if at least
  `probe`, the smallest waiting cost, fits) is recorded as entry `entry`, plus up to `extra`
  headroom, only while more than half the window is left and never more than 1/(2 x live
  replicas) of it, so the last half of a window goes exactly to whoever waits for it. A worker
  may spend a grant for at most the lease TTL after it asked, and `span` = window + TTL, so
  every unit spent stays counted for a whole window after it is spent: no window of the limit
  ever admits more than `limit`.
  Each worker also records what it holds unspent (`held` + this grant), so a worker that finds
  the window full can tell whether units granted to live others may still come back.
  Answers (granted, amount in the window, seconds until `probe` fits, seconds until empty,
  units other live workers hold unspent).
- kind "d", a day counter (the hash's `_u`; the key names the UTC day, `span` = seconds to its
  end): `give` and `debt` as above, a grant only if `probe` fits. Same five answers.
- kind "c", a concurrency cap (the hash: worker -> slots held): holdings of dead workers are
  dropped; this worker may hold min(want, cap - others), never less than `give` (its requests
  in flight). Answers (held, cap - others - held, 0, 0, 0).

Returns {live replicas, five numbers per limit}; numbers as strings (Lua floats survive). All
keys start with the prefix, a hash tag on Redis Cluster (`wire.redis_target`): one slot.
"""

ARGS_PER_OP = 10

LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[3])
local worker = ARGV[1]
local ttl = tonumber(ARGV[2]) / 1000
redis.call('ZADD', KEYS[1], now, worker)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], math.floor(ttl * 2000))
local nlive = redis.call('ZCARD', KEYS[1])
local out = {tostring(nlive)}
local live = nil

local function gives(h, z, give)
  local freed = 0
  for id, amt in string.gmatch(give, '([^:,]+):([^,]+)') do
    local cur = tonumber(redis.call('HGET', h, id))
    if cur then
      local take = math.min(cur, tonumber(amt))
      freed = freed + take
      if cur - take <= 1e-9 then
        redis.call('HDEL', h, id)
        if z then redis.call('ZREM', z, id) end
      else
        redis.call('HSET', h, id, tostring(cur - take))
      end
    end
  end
  return freed
end

local function live_set()
  if live == nil then
    live = {}
    for _, w in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now - ttl, '+inf')) do live[w] = true end
  end
  return live
end

for j = 0, (#KEYS - 4) / 3 do
  local z, h, hh = KEYS[2 + 3 * j], KEYS[3 + 3 * j], KEYS[4 + 3 * j]
  local a = 4 + j * 10
  local kind = ARGV[a]
  local limit, span, want = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local give, debt, entry = ARGV[a + 4], tonumber(ARGV[a + 5]), ARGV[a + 6]
  local extra, probe, held = tonumber(ARGV[a + 7]), tonumber(ARGV[a + 8]), tonumber(ARGV[a + 9])
  if kind == 'w' or kind == 'd' then
    local u = 0
    if kind == 'w' then
      local cutoff = now - span
      local old = redis.call('ZRANGEBYSCORE', z, '-inf', cutoff)
      local freed = 0
      for s = 1, #old, 500 do
        local part = {unpack(old, s, math.min(s + 499, #old))}
        for _, v in ipairs(redis.call('HMGET', h, unpack(part))) do freed = freed + (tonumber(v) or 0) end
        redis.call('HDEL', h, unpack(part))
      end
      if #old > 0 then redis.call('ZREMRANGEBYSCORE', z, '-inf', cutoff) end
      if redis.call('ZCARD', z) > 0 then u = (tonumber(redis.call('HGET', h, '_u')) or 0) - freed end
    else
      u = tonumber(redis.call('HGET', h, '_u')) or 0
    end
    if give ~= '' then u = u - gives(h, kind == 'w' and z or nil, give) end
    if u < 1e-9 then u = 0 end
    if debt > 0 then
      if kind == 'w' then
        redis.call('HSET', h, entry .. 'd', tostring(debt))
        redis.call('ZADD', z, now, entry .. 'd')
      end
      u = u + debt
    end
    local grant = 0
    if want + extra > 0 and limit - u >= probe then
      grant = math.min(want, limit - u)
      local rest = limit - u - grant
      if kind == 'w' and extra > 0 and rest >= limit / 2 then
        grant = grant + math.max(0, math.min(extra, math.floor(rest / (2 * nlive))))
      end
      if kind == 'w' then
        redis.call('HSET', h, entry, tostring(grant))
        redis.call('ZADD', z, now, entry)
      end
      u = u + grant
    end
    redis.call('HSET', h, '_u', tostring(u))
    local wait, reset = 0, span
    if kind == 'w' then
      if limit - u < probe then
        wait = span
        if probe <= limit then
          local need = u + probe - limit
          local rows = redis.call('ZRANGE', z, 0, -1, 'WITHSCORES')
          for i = 1, #rows, 2 do
            need = need - (tonumber(redis.call('HGET', h, rows[i])) or 0)
            if need <= 1e-9 then wait = tonumber(rows[i + 1]) + span - now break end
          end
        end
      end
      local newest = redis.call('ZRANGE', z, -1, -1, 'WITHSCORES')
      reset = #newest > 0 and (tonumber(newest[2]) + span - now) or 0
      redis.call('PEXPIRE', z, math.ceil((span + 10) * 1000))
      redis.call('PEXPIRE', h, math.ceil((span + 10) * 1000))
    else
      if limit - u < probe then wait = span end
      redis.call('PEXPIRE', h, math.ceil((span + 3600) * 1000))
    end
    local others = 0
    local holders = redis.call('HGETALL', hh)
    for i = 1, #holders, 2 do
      if holders[i] ~= worker then
        if live_set()[holders[i]] then others = others + tonumber(holders[i + 1])
        else redis.call('HDEL', hh, holders[i]) end
      end
    end
    if held + grant > 0 then redis.call('HSET', hh, worker, tostring(held + grant))
    else redis.call('HDEL', hh, worker) end
    redis.call('PEXPIRE', hh, math.ceil((span + 10) * 1000))
    out[#out + 1] = tostring(grant)
    out[#out + 1] = tostring(u)
    out[#out + 1] = tostring(math.max(wait, 0))
    out[#out + 1] = tostring(math.max(reset, 0))
    out[#out + 1] = tostring(others)
  else
    live_set()
    local held = redis.call('HGETALL', h)
    local others = 0
    for i = 1, #held, 2 do
      if held[i] ~= worker then
        if live[held[i]] then others = others + tonumber(held[i + 1]) else redis.call('HDEL', h, held[i]) end
      end
    end
    local mine = math.max(tonumber(give), math.min(want, limit - others))
    if mine > 0 then redis.call('HSET', h, worker, mine) else redis.call('HDEL', h, worker) end
    redis.call('PEXPIRE', h, 60000)
    out[#out + 1] = tostring(mine)
    out[#out + 1] = tostring(limit - others - mine)
    out[#out + 1] = '0'
    out[#out + 1] = '0'
    out[#out + 1] = '0'
  end
end
return out
"""
