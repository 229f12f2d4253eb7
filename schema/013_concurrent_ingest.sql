-- Ingest under concurrency (issue 13).
--
-- 1. Facility usage leaves its one hot row. Every commit batch of a facility
--    used to update the same facility_usage row and hold its lock until
--    COMMIT, so the batches of all associations and nodes queued there. Now
--    ingest and expiry append a delta row (no lock on anything shared), a
--    folder adds the deltas into facility_usage_folded now and then, and the
--    view facility_usage (what every reader already reads) is folded totals
--    plus the deltas not folded yet: exact at any moment.
-- 2. hokan_index_batch adds a commit batch's instances with one call: it
--    inserts the instances in (facility, SOP Instance UID) order, then takes
--    the row locks of the batch's studies and series in (study id, series
--    id) order (the order every ingest writer takes them), counts the
--    instances into them and appends the usage delta. One fixed lock order
--    means concurrent batches of one study queue instead of deadlocking; the
--    counters' locks come last, so a batch holds them only while it counts
--    and commits; and one statement replaces a round trip per instance.

ALTER TABLE facility_usage RENAME TO facility_usage_folded;

CREATE TABLE facility_usage_deltas (
    id           bigserial PRIMARY KEY,
    facility_id  bigint NOT NULL REFERENCES facilities (id),
    used_bytes   bigint NOT NULL,
    studies      bigint NOT NULL,
    instances    bigint NOT NULL,
    recorded_at  timestamptz NOT NULL
);
CREATE INDEX facility_usage_deltas_facility_idx ON facility_usage_deltas (facility_id);

-- Usage never goes negative, even if a counter was behind (as before).
CREATE VIEW facility_usage AS
SELECT COALESCE(f.facility_id, d.facility_id) AS facility_id,
       GREATEST(COALESCE(f.used_bytes, 0) + COALESCE(d.used_bytes, 0), 0) AS used_bytes,
       GREATEST(COALESCE(f.studies, 0) + COALESCE(d.studies, 0), 0) AS studies,
       GREATEST(COALESCE(f.instances, 0) + COALESCE(d.instances, 0), 0) AS instances,
       GREATEST(f.updated_at, d.updated_at) AS updated_at
  FROM facility_usage_folded f
  FULL JOIN (SELECT facility_id, sum(used_bytes)::bigint AS used_bytes,
                    sum(studies)::bigint AS studies, sum(instances)::bigint AS instances,
                    max(recorded_at) AS updated_at
               FROM facility_usage_deltas GROUP BY facility_id) d
         ON d.facility_id = f.facility_id;

-- Adds the deltas recorded so far into the folded totals and removes them;
-- returns how many it folded, or 0 when another session is folding (one
-- folder at a time; the deltas wait for the next call).
CREATE FUNCTION hokan_fold_usage_deltas() RETURNS bigint
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

-- One commit batch: row i of the arrays is one instance. already_added[i]:
-- the caller inserted it itself in this transaction (a new series, written
-- with its patient and study), so it is only counted. For the others the
-- series must exist (an expired one is not resurrected). Returns per row
-- its ordinal (1-based), the checksum of an instance already stored under
-- its (facility, SOP Instance UID) and whether this call inserted it; a row
-- with neither was not added because its series is gone.
CREATE FUNCTION hokan_index_batch(
    facility_ids bigint[], series_ids bigint[], sop_instance_uids text[],
    sop_class_uids text[], instance_numbers text[], numbers_of_frames integer[],
    row_counts integer[], column_counts integer[], character_sets text[],
    transfer_syntax_uids text[], relative_paths text[], sizes bigint[], checksums text[],
    calling_aes text[], expiries timestamptz[], storage_rule_ids bigint[], tiers text[],
    already_added boolean[], new_series boolean[], batch_time timestamptz)
RETURNS TABLE (ordinal bigint, existing_checksum text, inserted boolean)
LANGUAGE plpgsql
-- The plans of its statements are made once per connection: replanned for
-- every call (the default for the first calls and whenever a custom plan
-- looks cheaper) they cost more than the work.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  added bigint[];
BEGIN
  WITH batch AS (
    SELECT * FROM unnest(facility_ids, series_ids, sop_instance_uids, sop_class_uids,
                         instance_numbers, numbers_of_frames, row_counts, column_counts,
                         character_sets, transfer_syntax_uids, relative_paths, sizes, checksums,
                         calling_aes, expiries, storage_rule_ids, tiers, already_added)
             WITH ORDINALITY AS b(facility_id, series_fk, sop_instance_uid, sop_class_uid,
                                  instance_number, number_of_frames, rows, columns,
                                  specific_character_set, transfer_syntax_uid, relative_path,
                                  size_bytes, checksum_sha256, calling_ae, expires_at,
                                  storage_rule_id, tier, already_added, ordinal)
  ), inserted_rows AS (
    INSERT INTO instances AS i (facility_id, series_fk, sop_instance_uid, sop_class_uid,
                                instance_number, number_of_frames, rows, columns,
                                specific_character_set, transfer_syntax_uid, relative_path,
                                size_bytes, checksum_sha256, calling_ae, expires_at,
                                storage_rule_id, tier, received_at)
    SELECT b.facility_id, b.series_fk, b.sop_instance_uid, b.sop_class_uid, b.instance_number,
           NULLIF(b.number_of_frames, -1), NULLIF(b.rows, -1), NULLIF(b.columns, -1),
           b.specific_character_set, b.transfer_syntax_uid, b.relative_path, b.size_bytes,
           b.checksum_sha256, b.calling_ae, NULLIF(b.expires_at, 'infinity'),
           NULLIF(b.storage_rule_id, -1), b.tier, batch_time
      FROM batch b
     WHERE NOT b.already_added AND EXISTS (SELECT 1 FROM series e WHERE e.id = b.series_fk)
     ORDER BY b.facility_id, b.sop_instance_uid
    ON CONFLICT (facility_id, sop_instance_uid) DO NOTHING
    RETURNING i.facility_id, i.sop_instance_uid
  )
  SELECT array_agg(b.ordinal) INTO added
    FROM batch b JOIN inserted_rows r
      ON r.facility_id = b.facility_id AND r.sop_instance_uid = b.sop_instance_uid;
  added := COALESCE(added, '{}');

  -- The counters' row locks, last (held until COMMIT, so as short as can
  -- be) and in one order: by study, then by series.
  PERFORM 1 FROM studies s JOIN series e ON e.study_fk = s.id
   WHERE e.id = ANY (series_ids)
   ORDER BY s.id, e.id FOR NO KEY UPDATE;

  -- A new statement sees the rows a concurrent batch committed meanwhile.
  RETURN QUERY
  SELECT b.ordinal, i.checksum_sha256, b.ordinal = ANY (added)
    FROM unnest(facility_ids, sop_instance_uids, already_added)
         WITH ORDINALITY AS b(facility_id, sop_instance_uid, already_added, ordinal)
    LEFT JOIN instances i
      ON NOT b.already_added AND NOT (b.ordinal = ANY (added))
     AND i.facility_id = b.facility_id AND i.sop_instance_uid = b.sop_instance_uid
   ORDER BY b.ordinal;

  WITH counted AS (
    SELECT * FROM unnest(series_ids, sizes, expiries, already_added, new_series)
             WITH ORDINALITY AS c(series_fk, size_bytes, expires_at, already_added, new_series,
                                  ordinal)
     WHERE c.already_added OR c.ordinal = ANY (added)
  ), per_series AS (
    UPDATE series e SET number_of_instances = e.number_of_instances + c.instances
      FROM (SELECT series_fk, count(*) AS instances FROM counted GROUP BY series_fk) c
     WHERE e.id = c.series_fk
    RETURNING e.id, e.study_fk
  ), per_study AS (
    SELECT p.study_fk, count(*) AS instances, sum(c.size_bytes) AS size_bytes,
           count(*) FILTER (WHERE c.new_series) AS new_series, max(c.expires_at) AS latest
      FROM counted c JOIN per_series p ON p.id = c.series_fk
     GROUP BY p.study_fk
  ), studies_counted AS (
    UPDATE studies s SET
      number_of_instances = s.number_of_instances + c.instances,
      number_of_series = s.number_of_series + c.new_series,
      size_bytes = s.size_bytes + c.size_bytes,
      expires_at = NULLIF(CASE WHEN s.number_of_instances = 0 THEN c.latest
                               ELSE greatest(COALESCE(s.expires_at, 'infinity'), c.latest) END,
                          'infinity'),
      last_received_at = batch_time
      FROM per_study c
     WHERE s.id = c.study_fk
    RETURNING s.facility_id, c.instances, c.size_bytes,
              (s.number_of_instances = c.instances) AS new_study
  )
  INSERT INTO facility_usage_deltas (facility_id, used_bytes, studies, instances, recorded_at)
  SELECT facility_id, sum(size_bytes), count(*) FILTER (WHERE new_study), sum(instances), batch_time
    FROM studies_counted GROUP BY facility_id;
END
$$;
