-- Invariants no single party can break (README "Billing": "Charge caps").
-- 1. A cached prompt token never costs more than an uncached one: listings violating it are
--    repriced to ask_input (what the proxy already charged them at), then the rule is a constraint.
UPDATE listings SET ask_cached_input = ask_input WHERE ask_cached_input > ask_input;
ALTER TABLE listings ADD CONSTRAINT listings_cached_ask_not_above_input
    CHECK (ask_cached_input IS NULL OR ask_cached_input <= ask_input);
-- 2. A charge is at most its reservation and never takes the buyer's balance below zero: the
--    micro-USD cut off by either cap is recorded on the generation (0 = not capped).
ALTER TABLE generations ADD COLUMN capped_micro_usd bigint NOT NULL DEFAULT 0 CHECK (capped_micro_usd >= 0);
CREATE INDEX generations_capped ON generations (listing_id) WHERE capped_micro_usd > 0;
