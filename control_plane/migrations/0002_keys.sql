-- Buyer keys and management keys: stored as keyed hashes (wire.keys.hash_key) + a hint.
CREATE TABLE api_keys (
    id                        uuid PRIMARY KEY,
    account_id                uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name                      text NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    key_hash                  text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    key_hint                  text NOT NULL,
    key_group                 text NOT NULL DEFAULT 'default' CHECK (key_group ~ '^[a-z0-9_-]{1,64}$'),
    monthly_budget_micro_usd  bigint CHECK (monthly_budget_micro_usd IS NULL OR monthly_budget_micro_usd >= 0),
    routing_profile_id        uuid,
    ip_whitelist              cidr[] NOT NULL DEFAULT '{}',
    ip_blacklist              cidr[] NOT NULL DEFAULT '{}',
    model_allowlist           text[] NOT NULL DEFAULT '{}',
    expires_at                timestamptz,
    status                    text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'revoked')),
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    revoked_at                timestamptz,
    -- a key can only be bound to a profile of its own account
    FOREIGN KEY (account_id, routing_profile_id) REFERENCES routing_profiles (account_id, id)
);
CREATE INDEX api_keys_account ON api_keys (account_id);

CREATE TABLE management_keys (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    key_hash    text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    key_hint    text NOT NULL,
    mgmt_scope  text NOT NULL CHECK (mgmt_scope IN ('buyer', 'seller', 'full')),
    expires_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX management_keys_account ON management_keys (account_id);
