-- Any committed change the proxy needs wakes the snapshot publisher (NOTIFY is
-- delivered at commit, once per channel+payload per transaction).
CREATE FUNCTION df_snapshot_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('df_snapshot_changed', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['plans', 'accounts', 'api_keys', 'providers', 'models', 'pool_keys', 'listings', 'routing_profiles']
    LOOP
        EXECUTE format(
            'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I '
            'FOR EACH STATEMENT EXECUTE FUNCTION df_snapshot_changed()',
            t || '_snapshot_changed', t);
    END LOOP;
END;
$$;
