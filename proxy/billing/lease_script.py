"""The one Lua script of a credit-lease round: a heartbeat plus every lease of the round, atomically.

KEYS[1] `{p}bill:ready`, KEYS[2] the billing worker set (sorted set: worker -> last heartbeat,
Redis time), KEYS[3..] account hashes `{p}bill:a:{account}` and key-month hashes
`{p}bill:k:{key}:{month}` (`wire.billing`). ARGV: worker id, heartbeat TTL ms, then five per
lease: limit (a key's budget, or -1 = the hash's `credit`), report, seq, floor, want.

Per lease: add `report` to `spent` unless this worker's last applied seq (`q:{worker}`) is
>= seq (a retried round is applied once); drop the leases of workers whose heartbeat lapsed;
left = limit - spent - other workers' leases; this worker's lease `w:{worker}` becomes
max(floor, min(want, left)) (floor: what its requests may still use locally). When `want`
was not met and other workers hold leases, mark the hash contended (`c`, Redis time): for
1 s every worker asks without headroom, so idle credit flows to where requests wait.

Returns {1, grant1, left-after1, others1, contended1, ...}; {0} when `ready` is missing (the
control plane is rebuilding the state from PostgreSQL): nothing is changed then.
"""

LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local worker, ttl = ARGV[1], tonumber(ARGV[2]) / 1000
redis.call('ZADD', KEYS[2], now, worker)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[2], math.floor(ttl * 2000))
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local live = {}
for _, w in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], now - ttl, '+inf')) do live[w] = true end
local me, myq = 'w:' .. worker, 'q:' .. worker
local out = {1}
for i = 3, #KEYS do
  local a = 3 + (i - 3) * 5
  local k = KEYS[i]
  local limit, report, seq = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local floor, want = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  if report ~= 0 and seq > tonumber(redis.call('HGET', k, myq) or '0') then
    redis.call('HINCRBY', k, 'spent', report)
    redis.call('HSET', k, myq, seq)
  end
  local h = redis.call('HGETALL', k)
  local total, spent, others, mark = 0, 0, 0, 0
  for j = 1, #h, 2 do
    local f = h[j]
    if f == 'credit' then total = tonumber(h[j + 1])
    elseif f == 'spent' then spent = tonumber(h[j + 1])
    elseif f == 'c' then mark = tonumber(h[j + 1])
    elseif string.sub(f, 1, 2) == 'w:' and f ~= me then
      local w = string.sub(f, 3)
      if live[w] then others = others + tonumber(h[j + 1]) else redis.call('HDEL', k, f, 'q:' .. w) end
    end
  end
  if limit >= 0 then total = limit end
  local left = total - spent - others
  local grant = math.max(floor, math.min(want, left))
  if grant > 0 then redis.call('HSET', k, me, grant) else redis.call('HDEL', k, me) end
  if want > grant and others > 0 then
    redis.call('HSET', k, 'c', tostring(now))
    mark = now
  end
  out[#out + 1] = grant
  out[#out + 1] = left - grant
  out[#out + 1] = others
  out[#out + 1] = (now - mark < 1) and 1 or 0
end
return out
"""
