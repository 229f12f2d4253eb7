-- hokan 012: one clock. Every time hokan writes comes from hokan's clock
-- (archive/common/clock.h, with its test override), passed to SQL as a
-- parameter; PostgreSQL's now() decides nothing. The defaults of 001-010
-- would quietly put the database server's time into a row that a statement
-- forgot to give one, so they go: such a statement now fails (NOT NULL)
-- instead of mixing two clocks.

ALTER TABLE facilities ALTER COLUMN created_at DROP DEFAULT;
ALTER TABLE application_entities ALTER COLUMN updated_at DROP DEFAULT;
ALTER TABLE patients ALTER COLUMN created_at DROP DEFAULT,
                     ALTER COLUMN updated_at DROP DEFAULT;
ALTER TABLE studies ALTER COLUMN created_at DROP DEFAULT,
                    ALTER COLUMN updated_at DROP DEFAULT;
ALTER TABLE series ALTER COLUMN created_at DROP DEFAULT,
                   ALTER COLUMN updated_at DROP DEFAULT;
ALTER TABLE instances ALTER COLUMN received_at DROP DEFAULT;
ALTER TABLE sharing_grants ALTER COLUMN granted_at DROP DEFAULT;
ALTER TABLE contracts ALTER COLUMN created_at DROP DEFAULT;
ALTER TABLE patient_choices ALTER COLUMN recorded_at DROP DEFAULT;
ALTER TABLE storage_rules ALTER COLUMN created_at DROP DEFAULT;
ALTER TABLE facility_usage ALTER COLUMN updated_at DROP DEFAULT;
ALTER TABLE audit_log ALTER COLUMN at DROP DEFAULT;
ALTER TABLE jobs ALTER COLUMN run_after DROP DEFAULT,
                 ALTER COLUMN created_at DROP DEFAULT;
ALTER TABLE expiry_deletions ALTER COLUMN created_at DROP DEFAULT;
ALTER TABLE commitment_requests ALTER COLUMN received_at DROP DEFAULT;
ALTER TABLE purposes ALTER COLUMN created_at DROP DEFAULT,
                     ALTER COLUMN updated_at DROP DEFAULT;
ALTER TABLE purpose_grants ALTER COLUMN granted_at DROP DEFAULT;
ALTER TABLE fee_schedules ALTER COLUMN created_at DROP DEFAULT;
ALTER TABLE price_list ALTER COLUMN created_at DROP DEFAULT;
ALTER TABLE usage_samples ALTER COLUMN taken_at DROP DEFAULT;
