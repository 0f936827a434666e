-- Pricing controls that work and price review (issue 13).
-- price_multiplier was stored and never applied; it now makes asks follow the catalog price, so a
-- listing that never chose one (the old default 1.0) keeps its own asks: NULL = fixed asks.
ALTER TABLE listings ALTER COLUMN price_multiplier_bps DROP NOT NULL, ALTER COLUMN price_multiplier_bps DROP DEFAULT;
UPDATE listings SET price_multiplier_bps = NULL WHERE price_multiplier_bps = 10000;
-- A price change beyond the operator's band waits here (column -> new value) until the seller
-- confirms it; the listing keeps routing at its current asks meanwhile.
ALTER TABLE listings ADD COLUMN pending_price jsonb, ADD COLUMN price_review_reason text,
    ADD CONSTRAINT listings_pending_price_reason CHECK ((pending_price IS NULL) = (price_review_reason IS NULL));
