-- hokan 014: hokan_index_batch reaches its rows by key, whatever the table
-- sizes were when its plans were made (issue 13).
--
-- Its statements' plans are made once per connection (force_generic_plan)
-- and kept until the tables are analysed again. A connection that made
-- them while the archive was new kept a plan that read the whole instances
-- table to look up the batch's instances (a hash join over a sequential
-- scan): its cost grew with every instance stored, until autovacuum's next
-- ANALYZE, a minute or more later. Here every statement names the batch's
-- keys (series ids, study ids, (facility, SOP Instance UID)) and the
-- function rules out sequential scans, hash joins and merge joins, so each
-- row is found through its index: the work per batch is the same with ten
-- instances stored or ten million.

CREATE OR REPLACE FUNCTION hokan_index_batch(
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
-- looks cheaper) they cost more than the work. Every statement reaches the
-- rows of the batch by key (see the header above), so scans and hash joins
-- are ruled out: a plan made while a table was small must not scan it whole
-- once it has grown.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
  added bigint[];
  study_ids bigint[];
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
     WHERE NOT b.already_added
       AND b.series_fk IN (SELECT e.id FROM series e WHERE e.id = ANY (series_ids))
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
  SELECT array_agg(DISTINCT e.study_fk) INTO study_ids FROM series e WHERE e.id = ANY (series_ids);
  PERFORM 1 FROM studies s JOIN series e ON e.study_fk = s.id
   WHERE s.id = ANY (study_ids) AND e.id = ANY (series_ids)
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
     WHERE e.id = c.series_fk AND e.id = ANY (series_ids)
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
     WHERE s.id = c.study_fk AND s.id = ANY (study_ids)
    RETURNING s.facility_id, c.instances, c.size_bytes,
              (s.number_of_instances = c.instances) AS new_study
  )
  INSERT INTO facility_usage_deltas (facility_id, used_bytes, studies, instances, recorded_at)
  SELECT facility_id, sum(size_bytes), count(*) FILTER (WHERE new_study), sum(instances), batch_time
    FROM studies_counted GROUP BY facility_id;
END
$$;
