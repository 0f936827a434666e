-- Market routing (issue 4): fallback rules, deadline, hedging and custom weights on profiles.
ALTER TABLE routing_profiles
    ADD COLUMN fallback_on        text[] NOT NULL DEFAULT '{connect,timeout,5xx,429}'
        CHECK (fallback_on <@ ARRAY['connect', 'timeout', '5xx', '429']::text[]),
    ADD COLUMN deadline_ms        integer CHECK (deadline_ms IS NULL OR deadline_ms BETWEEN 100 AND 600000),
    ADD COLUMN hedge_ttft_ms      integer CHECK (hedge_ttft_ms IS NULL OR hedge_ttft_ms BETWEEN 10 AND 600000),
    ADD COLUMN weight_price       integer CHECK (weight_price IS NULL OR weight_price BETWEEN 0 AND 100),
    ADD COLUMN weight_latency     integer CHECK (weight_latency IS NULL OR weight_latency BETWEEN 0 AND 100),
    ADD COLUMN weight_throughput  integer CHECK (weight_throughput IS NULL OR weight_throughput BETWEEN 0 AND 100),
    ADD COLUMN weight_reliability integer CHECK (weight_reliability IS NULL OR weight_reliability BETWEEN 0 AND 100);
