-- Top-ups: USDT (TRC-20) payment intents. One row per intent; its status is derived:
-- confirmed (confirmed_at set, exactly one 'topup' journal), expired (expires_at passed
-- unconfirmed: never credited), else pending. An intent holds its deposit address from
-- created_at until it is confirmed or expires; allocation is serialized (advisory lock) so
-- no two holds on one address overlap (checked by `dragonfly ledger check`).
-- Amounts are integer micro-units: 1 USDT (6 decimals on TRC-20) = 1 USD = 1,000,000.
CREATE TABLE crypto_payments (
    id                   uuid PRIMARY KEY,
    account_id           uuid NOT NULL REFERENCES accounts (id),
    amount_cents         bigint NOT NULL CHECK (amount_cents > 0),
    amount_usdt_micro    bigint NOT NULL CHECK (amount_usdt_micro > 0),
    network              text NOT NULL DEFAULT 'TRC-20' CHECK (network = 'TRC-20'),
    address              text NOT NULL,
    address_source       text NOT NULL CHECK (address_source IN ('pool', 'dev')),
    created_at           timestamptz NOT NULL,
    expires_at           timestamptz NOT NULL,
    tx_hash              text UNIQUE CHECK (tx_hash ~ '^[0-9a-f]{64}$'),
    received_usdt_micro  bigint CHECK (received_usdt_micro > 0),
    journal_id           bigint UNIQUE REFERENCES ledger_journals (id),
    confirmed_at         timestamptz,
    confirmed_by         text CHECK (confirmed_by IN ('operator', 'watcher')),
    CHECK (expires_at > created_at),
    CHECK (confirmed_at IS NULL OR confirmed_at < expires_at),
    CHECK ((tx_hash IS NULL) = (journal_id IS NULL) AND (tx_hash IS NULL) = (confirmed_at IS NULL)
           AND (tx_hash IS NULL) = (received_usdt_micro IS NULL) AND (tx_hash IS NULL) = (confirmed_by IS NULL))
);
CREATE INDEX crypto_payments_account ON crypto_payments (account_id, created_at);
CREATE INDEX crypto_payments_open ON crypto_payments (expires_at) WHERE confirmed_at IS NULL;

ALTER TABLE ledger_journals ADD CONSTRAINT ledger_journals_topup_has_payment
    CHECK ((kind = 'topup') = (payment_id IS NOT NULL));
-- Seller earnings read postings by time: settlement time is the journal's created_at.
CREATE INDEX ledger_journals_created ON ledger_journals (created_at);
