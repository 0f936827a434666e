-- Daily quotas (issue 12): per key and per account, reset at 00:00 UTC; NULL = unlimited.
ALTER TABLE accounts
    ADD COLUMN daily_request_limit bigint  CHECK (daily_request_limit IS NULL OR daily_request_limit > 0),
    ADD COLUMN daily_token_quota   bigint  CHECK (daily_token_quota IS NULL OR daily_token_quota > 0);
ALTER TABLE api_keys
    ADD COLUMN daily_request_limit bigint  CHECK (daily_request_limit IS NULL OR daily_request_limit > 0),
    ADD COLUMN daily_token_quota   bigint  CHECK (daily_token_quota IS NULL OR daily_token_quota > 0);
