"""The one Lua script of the limit sync: a heartbeat plus every key of a round, atomically.

KEYS[1] is the replica set (a sorted set: worker id -> last heartbeat, Redis time); KEYS[2..]
are limit keys. ARGV: worker id, heartbeat TTL in ms, then five per limit key:
kind, capacity, rate (tokens/s), want, give.

- kind "b", a token bucket (hash t = tokens, s = stamp): refill on Redis's clock, add `give`
  (negative = a debt, so the level may go below 0), grant min(want, level) when level > 0.
  Answers (granted, level after).
- kind "c", a concurrency cap (hash worker -> slots held): holdings of dead workers are
  dropped; this worker may hold min(want, cap - others), never less than `give` (its
  requests in flight). Answers (held, cap - others - held).

Returns {live replicas, a1, b1, a2, b2, ...}; numbers as strings (Lua floats survive).
All keys carry one hash tag, so the script also runs on Redis Cluster (in one slot).
"""

LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local worker = ARGV[1]
local ttl = tonumber(ARGV[2]) / 1000
redis.call('ZADD', KEYS[1], now, worker)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], math.floor(ttl * 2000))
local out = {tostring(redis.call('ZCARD', KEYS[1]))}
local live = nil
for i = 2, #KEYS do
  local a = 3 + (i - 2) * 5
  local kind = ARGV[a]
  local cap, rate = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local want, give = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  if kind == 'b' then
    local s = redis.call('HMGET', KEYS[i], 't', 's')
    local tokens, stamp = tonumber(s[1]), tonumber(s[2])
    if tokens == nil or stamp == nil then tokens, stamp = cap, now end
    if now > stamp then
      tokens = math.min(cap, tokens + (now - stamp) * rate)
      stamp = now
    end
    tokens = math.min(cap, tokens + give)
    local grant = 0
    if want > 0 and tokens > 0 then grant = math.min(want, tokens) end
    tokens = tokens - grant
    redis.call('HSET', KEYS[i], 't', tostring(tokens), 's', tostring(stamp))
    redis.call('PEXPIRE', KEYS[i], math.ceil(((cap - tokens) / rate + 10) * 1000))
    out[#out + 1] = tostring(grant)
    out[#out + 1] = tostring(tokens)
  else
    if live == nil then
      live = {}
      for _, w in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now - ttl, '+inf')) do live[w] = true end
    end
    local h = redis.call('HGETALL', KEYS[i])
    local others = 0
    for j = 1, #h, 2 do
      if h[j] ~= worker then
        if live[h[j]] then others = others + tonumber(h[j + 1]) else redis.call('HDEL', KEYS[i], h[j]) end
      end
    end
    local mine = math.max(give, math.min(want, cap - others))
    if mine > 0 then redis.call('HSET', KEYS[i], worker, mine) else redis.call('HDEL', KEYS[i], worker) end
    redis.call('PEXPIRE', KEYS[i], 60000)
    out[#out + 1] = tostring(mine)
    out[#out + 1] = tostring(cap - others - mine)
  end
end
return out
"""
