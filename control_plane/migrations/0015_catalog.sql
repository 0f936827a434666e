-- The catalog by API (issue 14): model aliases and output caps, provider hosts, account fee
-- profiles, operator ledger adjustments.
--
-- max_output_tokens: the most completion tokens one choice may produce; a chat request that sets
-- no cap is reserved (and sent upstream) with it. NULL = the context length (the old rule).
ALTER TABLE models ADD COLUMN max_output_tokens integer CHECK (max_output_tokens IS NULL OR max_output_tokens > 0);
ALTER TABLE models ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();

-- Aliases a buyer may send as `model`; unique across the catalog (the primary key) and never a model id
-- (the API refuses it; the proxy ignores an alias that equals a model id).
CREATE TABLE model_aliases (
    alias     text PRIMARY KEY CHECK (alias ~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$'),
    model_id  text NOT NULL REFERENCES models (id) ON DELETE CASCADE
);
CREATE INDEX model_aliases_model ON model_aliases (model_id);
CREATE TRIGGER model_aliases_snapshot_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON model_aliases
    FOR EACH STATEMENT EXECUTE FUNCTION df_snapshot_changed();

INSERT INTO model_aliases (alias, model_id) VALUES
    ('deepseek-chat', 'deepseek/deepseek-chat'),
    ('deepseek-reasoner', 'deepseek/deepseek-reasoner'),
    ('kimi-k2', 'moonshot/kimi-k2'),
    ('text-embedding-3-small', 'openai/text-embedding-3-small'),
    ('tts-1', 'openai/tts-1'),
    ('whisper-1', 'openai/whisper-1');
UPDATE models SET max_output_tokens = 8192 WHERE id IN ('deepseek/deepseek-chat', 'qwen/qwen3-235b-a22b',
    'qwen/qwen3-30b-a3b', 'zhipu/glm-5-0131', 'doubao/doubao-1.5-pro-256k');
UPDATE models SET max_output_tokens = 32768 WHERE id IN ('deepseek/deepseek-reasoner', 'moonshot/kimi-k2',
    'minimax/minimax-m2.5', 'minimax/minimax-m2.5-highspeed');

-- Hosts a provider's official API answers on (issue 13 adds the same column; IF NOT EXISTS keeps both orders).
ALTER TABLE providers ADD COLUMN IF NOT EXISTS official_hosts text[] NOT NULL DEFAULT '{}';

-- A seller account's fee profile: its listings on the 'default' profile trade under it instead.
ALTER TABLE accounts ADD COLUMN fee_profile_id text REFERENCES fee_profiles (id);

-- Operator adjustments: admin_debit (buyer -> external), admin_refund (platform_fee -> buyer).
ALTER TABLE ledger_journals DROP CONSTRAINT ledger_journals_kind_check;
ALTER TABLE ledger_journals ADD CONSTRAINT ledger_journals_kind_check CHECK (kind IN (
    'signup_credit', 'admin_credit', 'initial_credit', 'usage', 'topup',
    'payout_request', 'payout_reject', 'payout_paid', 'admin_debit', 'admin_refund'));
CREATE OR REPLACE VIEW ledger_entries AS
    SELECT j.id, j.account_id, j.kind, p.amount AS amount_micro_usd, j.reason, j.created_at
    FROM ledger_journals j JOIN ledger_postings p ON p.journal_id = j.id AND p.book = 'buyer'
    WHERE j.kind IN ('signup_credit', 'admin_credit', 'initial_credit', 'topup', 'admin_debit', 'admin_refund');
