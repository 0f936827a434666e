-- Trust per pool key (README "Trust"): a pool key is trusted only when its base URL's host is one
-- of its provider's official hosts (and the provider is trusted), or an operator marked the key trusted.
ALTER TABLE providers ADD COLUMN official_hosts text[] NOT NULL DEFAULT '{}';
UPDATE providers SET official_hosts = ARRAY[lower(substring(default_base_url FROM '^https?://([^/:]+)'))]
    WHERE default_base_url ~ '^https?://[^/:]+' AND slug <> 'fake';
ALTER TABLE pool_keys ADD COLUMN trusted boolean NOT NULL DEFAULT false;
