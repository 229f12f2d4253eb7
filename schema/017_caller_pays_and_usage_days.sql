-- hokan 017 (issue 14, fees and background work).
--
-- 1. The caller pays. A retrieval is charged to the facility whose caller
--    retrieved (fee_events.facility_id), also for a patient another
--    facility shares with it by a sharing grant; the study's owner is
--    recorded beside it (owner_facility_id). One event per (payer, owner,
--    study, purpose, billing day): a Study Instance UID of two facilities
--    is two studies. Rows written before 017 were charged to the owner;
--    they keep it as both payer and owner (the caller's facility was not
--    recorded; for a facility's own patients the two are the same).
-- 2. Usage at a day's end. The folder of usage deltas (013) also adds each
--    delta into the net change of its UTC day (facility_usage_days), so a
--    usage sample taken after its day is over still reads that day's
--    closing usage: the usage now minus every change recorded after the
--    day. Changes folded before 017 have no day; a sample of a day before
--    017 was applied may therefore count later changes.

ALTER TABLE fee_events ADD COLUMN owner_facility_id bigint REFERENCES facilities (id);
UPDATE fee_events SET owner_facility_id = facility_id;
ALTER TABLE fee_events ALTER COLUMN owner_facility_id SET NOT NULL;
ALTER TABLE fee_events
    DROP CONSTRAINT fee_events_facility_id_study_instance_uid_purpose_id_billin_key;
ALTER TABLE fee_events ADD CONSTRAINT fee_events_once_per_day
    UNIQUE (facility_id, owner_facility_id, study_instance_uid, purpose_id, billing_day);

-- The billing view names the owner beside the payer (new last column).
CREATE OR REPLACE VIEW billing.fee_lines AS
SELECT e.id AS fee_event_id,
       f.name AS facility,
       p.name AS purpose,
       e.modality,
       e.study_instance_uid,
       e.billing_day,
       to_char(e.billing_day, 'YYYY-MM') AS month,
       e.amount_minor,
       e.currency::text AS currency,
       e.instances_delivered,
       e.instances_failed,
       e.calling_ae,
       e.fee_schedule_id,
       e.first_delivered_at,
       e.last_delivered_at,
       o.name AS owner_facility
  FROM fee_events e
  JOIN facilities f ON f.id = e.facility_id
  JOIN facilities o ON o.id = e.owner_facility_id
  JOIN purposes p ON p.id = e.purpose_id;

-- The net change of each facility's used bytes per UTC day (by the
-- deltas' recorded_at), for the deltas folded since 017.
CREATE TABLE facility_usage_days (
    facility_id  bigint NOT NULL REFERENCES facilities (id),
    change_day   date NOT NULL,
    used_bytes   bigint NOT NULL,
    PRIMARY KEY (facility_id, change_day)
);

-- As in 013, and each folded delta also counted into its day.
CREATE OR REPLACE FUNCTION hokan_fold_usage_deltas() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  folded bigint;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('hokan_fold_usage_deltas')) THEN
    RETURN 0;
  END IF;
  INSERT INTO facility_usage_folded (facility_id, updated_at)
  SELECT DISTINCT d.facility_id, '-infinity'::timestamptz FROM facility_usage_deltas d
  ON CONFLICT (facility_id) DO NOTHING;
  WITH taken AS (
    DELETE FROM facility_usage_deltas d
    RETURNING d.facility_id, d.used_bytes, d.studies, d.instances, d.recorded_at
  ), per_facility AS (
    SELECT t.facility_id, sum(t.used_bytes) AS used_bytes, sum(t.studies) AS studies,
           sum(t.instances) AS instances, max(t.recorded_at) AS recorded_at, count(*) AS deltas
      FROM taken t GROUP BY t.facility_id
  ), per_day AS (
    INSERT INTO facility_usage_days AS u (facility_id, change_day, used_bytes)
    SELECT t.facility_id, (t.recorded_at AT TIME ZONE 'UTC')::date, sum(t.used_bytes)
      FROM taken t GROUP BY 1, 2
    ON CONFLICT (facility_id, change_day) DO UPDATE SET used_bytes = u.used_bytes + excluded.used_bytes
  ), written AS (
    UPDATE facility_usage_folded u SET
      used_bytes = GREATEST(u.used_bytes + p.used_bytes, 0),
      studies = GREATEST(u.studies + p.studies, 0),
      instances = GREATEST(u.instances + p.instances, 0),
      updated_at = GREATEST(u.updated_at, p.recorded_at)
      FROM per_facility p
     WHERE u.facility_id = p.facility_id
    RETURNING p.deltas
  )
  SELECT COALESCE(sum(w.deltas), 0) INTO folded FROM written w;
  RETURN folded;
END
$$;
