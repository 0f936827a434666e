-- Seller payouts (issue 13): a payout address per seller, withdrawal requests, and their journals.
--
-- Money path (book `payout_pending` holds what a seller asked to withdraw and has not been paid):
--   payout_request  seller -amount, payout_pending +amount      (POST /v1/market/payouts)
--   payout_reject   payout_pending -amount, seller +amount      (the money goes back)
--   payout_paid     payout_pending -amount, external +amount    (it left the platform: tx_ref)
-- Approval moves no money. Every payout has one request journal and at most one of the others.
ALTER TABLE ledger_journals DROP CONSTRAINT ledger_journals_kind_check;
ALTER TABLE ledger_journals ADD CONSTRAINT ledger_journals_kind_check CHECK (kind IN (
    'signup_credit', 'admin_credit', 'initial_credit', 'usage', 'topup',
    'payout_request', 'payout_reject', 'payout_paid'));
ALTER TABLE ledger_journals ADD COLUMN payout_id uuid;
CREATE UNIQUE INDEX ledger_journals_one_per_payout_step ON ledger_journals (payout_id, kind) WHERE payout_id IS NOT NULL;
ALTER TABLE ledger_journals ADD CONSTRAINT ledger_journals_payout_kinds
    CHECK ((kind LIKE 'payout\_%') = (payout_id IS NOT NULL));
ALTER TABLE ledger_postings DROP CONSTRAINT ledger_postings_book_check;
ALTER TABLE ledger_postings ADD CONSTRAINT ledger_postings_book_check
    CHECK (book IN ('buyer', 'seller', 'platform_fee', 'external', 'payout_pending'));

CREATE TABLE payout_addresses (
    account_id  uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    address     text NOT NULL,
    network     text NOT NULL DEFAULT 'TRC-20',
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payouts (
    id                uuid PRIMARY KEY,
    account_id        uuid NOT NULL REFERENCES accounts (id),
    amount_micro_usd  bigint NOT NULL CHECK (amount_micro_usd > 0),
    address           text NOT NULL,
    network           text NOT NULL DEFAULT 'TRC-20',
    status            text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'approved', 'rejected', 'paid')),
    idempotency_key   text CHECK (idempotency_key IS NULL OR length(idempotency_key) BETWEEN 1 AND 200),
    tx_ref            text CHECK (tx_ref IS NULL OR length(tx_ref) BETWEEN 1 AND 200),
    reject_reason     text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    approved_at       timestamptz,
    rejected_at       timestamptz,
    paid_at           timestamptz,
    UNIQUE (account_id, idempotency_key),
    CHECK ((status = 'paid') = (tx_ref IS NOT NULL AND paid_at IS NOT NULL)),
    CHECK ((status = 'rejected') = (rejected_at IS NOT NULL))
);
CREATE INDEX payouts_account ON payouts (account_id, created_at);
CREATE INDEX payouts_status ON payouts (status, created_at);
CREATE UNIQUE INDEX payouts_one_tx_ref ON payouts (tx_ref) WHERE tx_ref IS NOT NULL;
