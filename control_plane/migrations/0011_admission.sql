-- Admission probes and contracts (README "Admission", "Contracts").
-- A listing is routed only once admitted (a probe passed); listings that exist already count as admitted.
ALTER TABLE listings
    ADD COLUMN admitted_at timestamptz,
    ADD COLUMN admission_reason text NOT NULL DEFAULT 'waiting for the first admission probe';
UPDATE listings SET admitted_at = created_at, admission_reason = '';

-- Per catalog model: what a probe expects of the model (substitution detection), e.g.
-- {"prompt_tokens": [lo, hi], "model_names": ["deepseek-chat"]}; {} = nothing model-specific.
ALTER TABLE models ADD COLUMN probe_expect jsonb NOT NULL DEFAULT '{}';

-- What a listing promised when admitted; its state follows the checks.
CREATE TABLE contracts (
    id            uuid PRIMARY KEY,
    listing_id    uuid NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
    state         text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'degraded', 'suspended')),
    terms         jsonb NOT NULL,
    strikes       integer NOT NULL DEFAULT 0 CHECK (strikes >= 0),  -- failed checks since the last pass
    state_reason  text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contracts_listing ON contracts (listing_id, created_at DESC);
CREATE TRIGGER contracts_snapshot_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON contracts
    FOR EACH STATEMENT EXECUTE FUNCTION df_snapshot_changed();

-- Every probe (admission, scheduled, on request) and every batch of upstream 401/403 reports.
CREATE TABLE probe_runs (
    id            uuid PRIMARY KEY,
    listing_id    uuid NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
    contract_id   uuid REFERENCES contracts (id) ON DELETE CASCADE,
    trigger       text NOT NULL CHECK (trigger IN ('admission', 'manual', 'schedule', 'reverify', 'proxy_reports')),
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    outcome       text CHECK (outcome IN ('passed', 'failed')),
    checks        jsonb NOT NULL DEFAULT '[]',
    ttft_ms       double precision,
    tokens_per_s  double precision
);
CREATE INDEX probe_runs_listing ON probe_runs (listing_id, started_at DESC);
CREATE INDEX probe_runs_contract ON probe_runs (contract_id, started_at DESC);

-- When each listing is probed next (no snapshot trigger: scheduling never changes routing).
CREATE TABLE probe_schedule (
    listing_id     uuid PRIMARY KEY REFERENCES listings (id) ON DELETE CASCADE,
    next_probe_at  timestamptz NOT NULL DEFAULT now(),
    failures       integer NOT NULL DEFAULT 0 CHECK (failures >= 0)  -- consecutive failed probes (back-off)
);
INSERT INTO probe_schedule (listing_id, next_probe_at)
    SELECT id, now() + random() * interval '1 hour' FROM listings;
