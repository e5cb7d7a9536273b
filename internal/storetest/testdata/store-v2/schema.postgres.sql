-- What version 1 added in PostgreSQL only (postgres.Dialect.Extra[1], as
-- released): the trigger that keeps the audit log append-only.

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;

CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON audit
			FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
