-- The double-entry ledger, generations (one per request, unique by request id), key
-- month-to-date spend, fee profiles. Integer micro-USD everywhere.
--
-- Books: 'buyer' (spendable credit of an account), 'seller' (earnings payable to an
-- account), 'platform_fee' (the platform's revenue) and 'external' (money outside:
-- deposits come from it). Platform and external use the nil account id. Every journal's
-- postings sum to zero; ledger_balances holds the running balance of every (book, account).
CREATE TABLE fee_profiles (
    id              text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    buyer_fee_bps   integer NOT NULL CHECK (buyer_fee_bps BETWEEN 0 AND 10000),
    seller_fee_bps  integer NOT NULL CHECK (seller_fee_bps BETWEEN 0 AND 10000)
);
INSERT INTO fee_profiles (id, buyer_fee_bps, seller_fee_bps) VALUES ('default', 0, 500);
ALTER TABLE listings ADD COLUMN fee_profile_id text NOT NULL DEFAULT 'default' REFERENCES fee_profiles (id);
CREATE TRIGGER fee_profiles_snapshot_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON fee_profiles
    FOR EACH STATEMENT EXECUTE FUNCTION df_snapshot_changed();

CREATE TABLE ledger_journals (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('signup_credit', 'admin_credit', 'initial_credit', 'usage', 'topup')),
    account_id  uuid NOT NULL,           -- the account the journal is about (buyer, depositor)
    request_id  text UNIQUE,             -- usage journals: one per request, ever
    payment_id  uuid UNIQUE,             -- top-up journals: one per payment, ever
    reason      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'usage') = (request_id IS NOT NULL))
);
CREATE INDEX ledger_journals_account ON ledger_journals (account_id, id);
CREATE UNIQUE INDEX ledger_journals_one_signup_credit ON ledger_journals (account_id) WHERE kind = 'signup_credit';

CREATE TABLE ledger_postings (
    id          bigserial PRIMARY KEY,
    journal_id  bigint NOT NULL REFERENCES ledger_journals (id),
    book        text NOT NULL CHECK (book IN ('buyer', 'seller', 'platform_fee', 'external')),
    account_id  uuid NOT NULL,
    amount      bigint NOT NULL CHECK (amount <> 0)
);
CREATE INDEX ledger_postings_journal ON ledger_postings (journal_id);
CREATE INDEX ledger_postings_book_account ON ledger_postings (book, account_id, journal_id);

CREATE TABLE ledger_balances (
    book        text NOT NULL,
    account_id  uuid NOT NULL,
    balance     bigint NOT NULL DEFAULT 0,
    credited    bigint NOT NULL DEFAULT 0,   -- sum of positive postings (for the buyer book: all credit ever)
    PRIMARY KEY (book, account_id)
);

-- Carry the minimal credit table over as opening journals, then keep its name as a view.
INSERT INTO ledger_journals (id, kind, account_id, reason, created_at)
    SELECT id, kind, account_id, reason, created_at FROM ledger_entries;
SELECT setval(pg_get_serial_sequence('ledger_journals', 'id'), greatest((SELECT max(id) FROM ledger_journals), 1));
INSERT INTO ledger_postings (journal_id, book, account_id, amount)
    SELECT id, 'buyer', account_id, amount_micro_usd FROM ledger_entries
    UNION ALL
    SELECT id, 'external', '00000000-0000-0000-0000-000000000000', -amount_micro_usd FROM ledger_entries
    ORDER BY 1;
INSERT INTO ledger_balances (book, account_id, balance, credited)
    SELECT book, account_id, sum(amount), sum(greatest(amount, 0)) FROM ledger_postings GROUP BY book, account_id;
DROP TABLE ledger_entries;
CREATE VIEW ledger_entries AS
    SELECT j.id, j.account_id, j.kind, p.amount AS amount_micro_usd, j.reason, j.created_at
    FROM ledger_journals j JOIN ledger_postings p ON p.journal_id = j.id AND p.book = 'buyer'
    WHERE j.kind IN ('signup_credit', 'admin_credit', 'initial_credit', 'topup');

CREATE TABLE generations (
    request_id                  text PRIMARY KEY,
    account_id                  uuid NOT NULL,
    key_id                      text NOT NULL,
    listing_id                  text NOT NULL,
    seller_account_id           uuid NOT NULL,
    model                       text NOT NULL,
    provider                    text NOT NULL,
    upstream_model              text NOT NULL,
    status                      text NOT NULL CHECK (status IN ('completed', 'partial', 'disconnected', 'failed')),
    prompt_tokens               integer NOT NULL CHECK (prompt_tokens >= 0),
    completion_tokens           integer NOT NULL CHECK (completion_tokens >= 0),
    cached_tokens               integer NOT NULL CHECK (cached_tokens >= 0),
    usage_estimated             boolean NOT NULL,
    reported_completion_tokens  integer,
    ask_input                   bigint NOT NULL,
    ask_output                  bigint NOT NULL,
    ask_cached_input            bigint,
    buyer_fee_bps               integer NOT NULL,
    seller_fee_bps              integer NOT NULL,
    fee_profile_id              text,
    cost_micro_usd              bigint NOT NULL CHECK (cost_micro_usd >= 0),
    seller_payout_micro_usd     bigint NOT NULL CHECK (seller_payout_micro_usd >= 0),
    platform_fee_micro_usd      bigint NOT NULL CHECK (platform_fee_micro_usd >= 0),
    reserved_micro_usd          bigint NOT NULL,
    month                       integer NOT NULL,
    ttft_ms                     integer,
    latency_ms                  integer NOT NULL,
    offline                     boolean NOT NULL DEFAULT false,
    started_at                  timestamptz NOT NULL,
    settled_at                  timestamptz NOT NULL DEFAULT now(),
    journal_id                  bigint REFERENCES ledger_journals (id),
    CHECK (cost_micro_usd = seller_payout_micro_usd + platform_fee_micro_usd),
    CHECK ((cost_micro_usd > 0) = (journal_id IS NOT NULL))
);
CREATE INDEX generations_account_time ON generations (account_id, started_at);
CREATE INDEX generations_seller_time ON generations (seller_account_id, started_at);

CREATE TABLE key_spend (
    key_id  text NOT NULL,
    month   integer NOT NULL,
    spent   bigint NOT NULL DEFAULT 0 CHECK (spent >= 0),
    PRIMARY KEY (key_id, month)
);
