-- Accounts, plans, mail outbox, email verification, ledger (minimal), routing profiles.
CREATE TABLE plans (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_-]{0,31}$'),
    title       text NOT NULL,
    rpm_limit   integer CHECK (rpm_limit IS NULL OR rpm_limit > 0),
    tpm_limit   integer CHECK (tpm_limit IS NULL OR tpm_limit > 0),
    sort_order  integer NOT NULL DEFAULT 0
);

INSERT INTO plans (name, title, rpm_limit, tpm_limit, sort_order) VALUES
    ('free', 'Free', 10, 40000, 0),
    ('starter', 'Starter', 60, 200000, 1),
    ('pro', 'Pro', 300, 1000000, 2),
    ('enterprise', 'Enterprise', NULL, NULL, 3);

CREATE TABLE accounts (
    id                         uuid PRIMARY KEY,
    email                      text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash              text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    email_verified_at          timestamptz,
    plan                       text NOT NULL DEFAULT 'free' REFERENCES plans (name),
    status                     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    rpm_limit                  integer CHECK (rpm_limit IS NULL OR rpm_limit > 0),
    tpm_limit                  integer CHECK (tpm_limit IS NULL OR tpm_limit > 0),
    trading_terms_accepted_at  timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_email_lower ON accounts (lower(email));

CREATE TABLE email_verifications (
    token_hash  text PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_verifications_account ON email_verifications (account_id);

-- Outbox: every mail is written here in the same transaction as the change that
-- caused it; a sender (console in dev, SMTP later) delivers and stamps sent_at.
CREATE TABLE mail_outbox (
    id          bigserial PRIMARY KEY,
    to_address  text NOT NULL,
    subject     text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
CREATE INDEX mail_outbox_unsent ON mail_outbox (id) WHERE sent_at IS NULL;

-- Minimal journal of money movements, integer micro-USD. The double-entry ledger
-- comes with billing; these rows will be carried over as its opening entries.
CREATE TABLE ledger_entries (
    id                bigserial PRIMARY KEY,
    account_id        uuid NOT NULL REFERENCES accounts (id),
    kind              text NOT NULL CHECK (kind IN ('signup_credit', 'admin_credit', 'initial_credit')),
    amount_micro_usd  bigint NOT NULL CHECK (amount_micro_usd > 0),
    reason            text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id);
CREATE UNIQUE INDEX ledger_entries_one_signup_credit ON ledger_entries (account_id) WHERE kind = 'signup_credit';

CREATE TABLE routing_profiles (
    id                       uuid PRIMARY KEY,
    account_id               uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name                     text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    strategy                 text NOT NULL DEFAULT 'balanced'
                             CHECK (strategy IN ('cost-first', 'balanced', 'reliability-first', 'quality-first', 'custom')),
    is_default               boolean NOT NULL DEFAULT false,
    provider_only            text[] NOT NULL DEFAULT '{}',
    provider_ignore          text[] NOT NULL DEFAULT '{}',
    provider_order           text[] NOT NULL DEFAULT '{}',
    max_price_input          bigint CHECK (max_price_input IS NULL OR max_price_input >= 0),
    max_price_output         bigint CHECK (max_price_output IS NULL OR max_price_output >= 0),
    max_ttft_ms              integer CHECK (max_ttft_ms IS NULL OR max_ttft_ms > 0),
    min_throughput_tps       integer CHECK (min_throughput_tps IS NULL OR min_throughput_tps > 0),
    hard_max_ttft_ms         integer CHECK (hard_max_ttft_ms IS NULL OR hard_max_ttft_ms > 0),
    hard_min_throughput_tps  integer CHECK (hard_min_throughput_tps IS NULL OR hard_min_throughput_tps > 0),
    privacy_mode             text NOT NULL DEFAULT 'any' CHECK (privacy_mode IN ('any', 'trusted_only')),
    fallback_enabled         boolean NOT NULL DEFAULT true,
    max_attempts             integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 10),
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id)
);
CREATE UNIQUE INDEX routing_profiles_one_default ON routing_profiles (account_id) WHERE is_default;
