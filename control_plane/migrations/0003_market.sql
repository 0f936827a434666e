-- Providers, the model catalog, seller pool keys (encrypted) and listings.
CREATE TABLE providers (
    slug              text PRIMARY KEY CHECK (slug ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    name              text NOT NULL,
    api_format        text NOT NULL CHECK (api_format IN ('openai', 'anthropic')),
    default_base_url  text NOT NULL DEFAULT '',
    trusted           boolean NOT NULL DEFAULT false,
    sort_order        integer NOT NULL DEFAULT 0
);

CREATE TABLE models (
    id              text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._:-]*$'),
    owned_by        text NOT NULL REFERENCES providers (slug),
    input_price     bigint NOT NULL CHECK (input_price >= 0),   -- micro-USD per million tokens
    output_price    bigint NOT NULL CHECK (output_price >= 0),
    context_length  integer NOT NULL CHECK (context_length > 0),
    capabilities    text[] NOT NULL DEFAULT '{chat}',
    active          boolean NOT NULL DEFAULT true
);

CREATE TABLE pool_keys (
    id               uuid PRIMARY KEY,
    account_id       uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provider         text NOT NULL REFERENCES providers (slug),
    name             text NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    base_url         text NOT NULL CHECK (base_url ~ '^https?://'),
    api_format       text NOT NULL CHECK (api_format IN ('openai', 'anthropic')),
    -- AES-256-GCM: nonce || ciphertext+tag; associated data binds seller id and key id
    key_ciphertext   bytea NOT NULL CHECK (length(key_ciphertext) > 28),
    key_hint         text NOT NULL,
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id)
);
CREATE INDEX pool_keys_account ON pool_keys (account_id);

CREATE TABLE listings (
    id                  uuid PRIMARY KEY,
    account_id          uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    pool_key_id         uuid NOT NULL,
    model               text NOT NULL REFERENCES models (id),
    upstream_model      text NOT NULL CHECK (length(upstream_model) BETWEEN 1 AND 200),
    ask_input           bigint NOT NULL CHECK (ask_input >= 0),       -- micro-USD per million tokens
    ask_output          bigint NOT NULL CHECK (ask_output >= 0),
    ask_cached_input    bigint CHECK (ask_cached_input IS NULL OR ask_cached_input >= 0),
    payout_floor        bigint CHECK (payout_floor IS NULL OR payout_floor >= 0),
    price_multiplier_bps integer NOT NULL DEFAULT 10000 CHECK (price_multiplier_bps BETWEEN 1 AND 1000000),
    auto_follow         boolean NOT NULL DEFAULT false,
    rpm_limit           integer CHECK (rpm_limit IS NULL OR rpm_limit > 0),
    concurrency_limit   integer CHECK (concurrency_limit IS NULL OR concurrency_limit > 0),
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- a listing can only use a pool key of its own seller
    FOREIGN KEY (account_id, pool_key_id) REFERENCES pool_keys (account_id, id),
    UNIQUE (pool_key_id, model)
);
CREATE INDEX listings_account ON listings (account_id);
CREATE INDEX listings_model ON listings (model);

INSERT INTO providers (slug, name, api_format, default_base_url, trusted, sort_order) VALUES
    ('deepseek', 'DeepSeek', 'openai', 'https://api.deepseek.com/v1', true, 1),
    ('qwen', 'Qwen (Alibaba Cloud)', 'openai', 'https://dashscope.aliyuncs.com/compatible-mode/v1', true, 2),
    ('moonshot', 'Moonshot (Kimi)', 'openai', 'https://api.moonshot.cn/v1', true, 3),
    ('zhipu', 'Zhipu (GLM)', 'openai', 'https://open.bigmodel.cn/api/paas/v4', true, 4),
    ('doubao', 'Doubao (Volcengine)', 'openai', 'https://ark.cn-beijing.volces.com/api/v3', true, 5),
    ('minimax', 'MiniMax', 'openai', 'https://api.minimax.io/v1', true, 6),
    ('openai', 'OpenAI', 'openai', 'https://api.openai.com/v1', true, 7),
    ('anthropic', 'Anthropic', 'anthropic', 'https://api.anthropic.com/v1', true, 8),
    ('fake', 'Fake provider (development and tests)', 'openai', 'http://127.0.0.1:8090/v1', false, 99);

INSERT INTO models (id, owned_by, input_price, output_price, context_length, capabilities) VALUES
    ('deepseek/deepseek-chat', 'deepseek', 500000, 1500000, 128000, '{chat,code}'),
    ('deepseek/deepseek-reasoner', 'deepseek', 2000000, 8000000, 128000, '{chat,reasoning}'),
    ('qwen/qwen3-235b-a22b', 'qwen', 1000000, 4000000, 128000, '{chat}'),
    ('qwen/qwen3-30b-a3b', 'qwen', 500000, 2000000, 128000, '{chat}'),
    ('moonshot/kimi-k2', 'moonshot', 1000000, 4000000, 128000, '{chat}'),
    ('zhipu/glm-5-0131', 'zhipu', 1000000, 4000000, 128000, '{chat}'),
    ('doubao/doubao-1.5-pro-256k', 'doubao', 300000, 900000, 256000, '{chat}'),
    ('minimax/minimax-m2.5', 'minimax', 800000, 2400000, 1000000, '{chat}'),
    ('minimax/minimax-m2.5-highspeed', 'minimax', 400000, 1200000, 1000000, '{chat}');
