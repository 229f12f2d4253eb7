#include "archive/index/sql/instance_statements.h"

namespace hokan::archive::sql {

const Statement kFindCaller{
    "hokan_find_caller",
    "SELECT ae.facility_id, f.name, ae.may_store, "
    "       (cardinality(ae.allowed_networks) = 0 OR "
    "        COALESCE(NULLIF($2, '')::inet <<= ANY (ae.allowed_networks), false)) "
    "FROM application_entities ae JOIN facilities f ON f.id = ae.facility_id "
    "WHERE ae.ae_title = $1 AND ae.enabled AND ae.role <> 'destination' "
    "ORDER BY ae.facility_id"};

const Statement kFindInstanceChecksum{
    "hokan_find_instance_checksum",
    "SELECT checksum_sha256 FROM instances WHERE facility_id = $1 AND sop_instance_uid = $2"};

const Statement kChecksumAt{
    "hokan_checksum_at",
    "SELECT checksum_sha256 FROM instances WHERE relative_path = $1"};

const Statement kRemoveInstanceAt{
    "hokan_remove_instance_at",
    R"sql(
WITH removed AS (
  DELETE FROM instances WHERE relative_path = $1
  RETURNING facility_id, series_fk, size_bytes
), series_counted AS (
  UPDATE series e SET number_of_instances = e.number_of_instances - 1
    FROM removed r WHERE e.id = r.series_fk
  RETURNING e.study_fk
), study_counted AS (
  UPDATE studies s SET number_of_instances = s.number_of_instances - 1,
                       size_bytes = s.size_bytes - r.size_bytes
    FROM removed r, series_counted c WHERE s.id = c.study_fk
  RETURNING s.number_of_instances
)
INSERT INTO facility_usage_deltas (facility_id, used_bytes, studies, instances, recorded_at)
SELECT r.facility_id, -r.size_bytes,
       -(SELECT count(*) FROM study_counted WHERE number_of_instances = 0), -1, $2::timestamptz
  FROM removed r
)sql"};

const Statement kInsertInstance{
    "hokan_insert_instance",
    R"sql(
WITH existing AS (
  SELECT checksum_sha256 FROM instances WHERE facility_id = $1 AND sop_instance_uid = $20
), patient_written AS (
  INSERT INTO patients AS p (facility_id, patient_id, issuer_of_patient_id, patient_name,
                             patient_birth_date, patient_sex, specific_character_set,
                             other_patient_ids, created_at, updated_at)
  SELECT $1, $2, $3, $4, $5, $6, $7, $31::jsonb, $37::timestamptz, $37::timestamptz
   WHERE NOT EXISTS (SELECT 1 FROM existing)
  ON CONFLICT (facility_id, patient_id) DO UPDATE SET
    issuer_of_patient_id = EXCLUDED.issuer_of_patient_id,
    patient_name = EXCLUDED.patient_name,
    patient_birth_date = EXCLUDED.patient_birth_date,
    patient_sex = EXCLUDED.patient_sex,
    specific_character_set = EXCLUDED.specific_character_set,
    other_patient_ids = EXCLUDED.other_patient_ids,
    updated_at = EXCLUDED.updated_at
  WHERE (p.issuer_of_patient_id, p.patient_name, p.patient_birth_date, p.patient_sex,
         p.specific_character_set, p.other_patient_ids)
        IS DISTINCT FROM
        (EXCLUDED.issuer_of_patient_id, EXCLUDED.patient_name, EXCLUDED.patient_birth_date,
         EXCLUDED.patient_sex, EXCLUDED.specific_character_set, EXCLUDED.other_patient_ids)
  RETURNING id
), patient AS (
  SELECT id FROM patient_written
  UNION ALL
  SELECT id FROM patients
   WHERE facility_id = $1 AND patient_id = $2 AND NOT EXISTS (SELECT 1 FROM existing)
  LIMIT 1
), study_written AS (
  INSERT INTO studies AS s (facility_id, patient_fk, study_instance_uid, study_date, study_time,
                            accession_number, study_id, study_description,
                            referring_physician_name, modalities_in_study,
                            specific_character_set, procedure_codes, created_at, updated_at)
  SELECT $1, patient.id, $8, $9, $10, $11, $12, $13, $14,
         CASE WHEN $15::text = '' THEN '{}'::text[] ELSE ARRAY[$15::text] END, $7,
         $32::jsonb, $37::timestamptz, $37::timestamptz
    FROM patient
  ON CONFLICT (facility_id, study_instance_uid) DO UPDATE SET
    patient_fk = EXCLUDED.patient_fk,
    study_date = EXCLUDED.study_date,
    study_time = EXCLUDED.study_time,
    accession_number = EXCLUDED.accession_number,
    study_id = EXCLUDED.study_id,
    study_description = EXCLUDED.study_description,
    referring_physician_name = EXCLUDED.referring_physician_name,
    modalities_in_study = CASE WHEN $15::text = '' OR $15::text = ANY (s.modalities_in_study)
                               THEN s.modalities_in_study
                               ELSE s.modalities_in_study || $15::text END,
    specific_character_set = EXCLUDED.specific_character_set,
    procedure_codes = EXCLUDED.procedure_codes,
    updated_at = EXCLUDED.updated_at
  WHERE (s.patient_fk, s.study_date, s.study_time, s.accession_number, s.study_id,
         s.study_description, s.referring_physician_name, s.specific_character_set,
         s.procedure_codes)
        IS DISTINCT FROM
        (EXCLUDED.patient_fk, EXCLUDED.study_date, EXCLUDED.study_time,
         EXCLUDED.accession_number, EXCLUDED.study_id, EXCLUDED.study_description,
         EXCLUDED.referring_physician_name, EXCLUDED.specific_character_set,
         EXCLUDED.procedure_codes)
     OR NOT ($15::text = '' OR $15::text = ANY (s.modalities_in_study))
  RETURNING id
), study AS (
  SELECT id FROM study_written
  UNION ALL
  SELECT id FROM studies
   WHERE facility_id = $1 AND study_instance_uid = $8 AND EXISTS (SELECT 1 FROM patient)
  LIMIT 1
), series_written AS (
  INSERT INTO series AS e (facility_id, study_fk, series_instance_uid, modality, series_number,
                           series_description, body_part_examined, request_attributes,
                           created_at, updated_at)
  SELECT $1, study.id, $16, $15, $17, $18, $19, $33::jsonb, $37::timestamptz, $37::timestamptz
    FROM study
  ON CONFLICT (facility_id, series_instance_uid) DO UPDATE SET
    study_fk = EXCLUDED.study_fk,
    modality = EXCLUDED.modality,
    series_number = EXCLUDED.series_number,
    series_description = EXCLUDED.series_description,
    body_part_examined = EXCLUDED.body_part_examined,
    request_attributes = EXCLUDED.request_attributes,
    updated_at = EXCLUDED.updated_at
  WHERE (e.study_fk, e.modality, e.series_number, e.series_description, e.body_part_examined,
         e.request_attributes)
        IS DISTINCT FROM
        (EXCLUDED.study_fk, EXCLUDED.modality, EXCLUDED.series_number,
         EXCLUDED.series_description, EXCLUDED.body_part_examined, EXCLUDED.request_attributes)
  RETURNING id, (xmax = 0) AS created
), series_row AS (
  SELECT id, created FROM series_written
  UNION ALL
  SELECT id, false FROM series
   WHERE facility_id = $1 AND series_instance_uid = $16 AND EXISTS (SELECT 1 FROM study)
  LIMIT 1
), inserted AS (
  INSERT INTO instances (facility_id, series_fk, sop_instance_uid, sop_class_uid,
                         instance_number, number_of_frames, rows, columns,
                         specific_character_set, transfer_syntax_uid, relative_path,
                         size_bytes, checksum_sha256, calling_ae, expires_at, storage_rule_id,
                         tier, received_at)
  SELECT $1, series_row.id, $20, $21, $22, NULLIF($23::integer, -1),
         NULLIF($24::integer, -1), NULLIF($25::integer, -1), $7, $26, $27, $28, $29, $30,
         $34::timestamptz, $35::bigint, $36, $37::timestamptz
    FROM series_row
  ON CONFLICT (facility_id, sop_instance_uid) DO NOTHING
  RETURNING id
)
SELECT (SELECT checksum_sha256 FROM existing), (SELECT id FROM inserted),
       (SELECT id FROM series_row), (SELECT created FROM series_row)
)sql"};

const Statement kIndexBatch{
    "hokan_index_batch",
    "SELECT ordinal, existing_checksum, inserted FROM hokan_index_batch("
    "  $1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::integer[],"
    "  $7::integer[], $8::integer[], $9::text[], $10::text[], $11::text[], $12::bigint[],"
    "  $13::text[], $14::text[], $15::timestamptz[], $16::bigint[], $17::text[],"
    "  $18::boolean[], $19::boolean[], $20::timestamptz)"};

const Statement kFoldUsageDeltas{"hokan_fold_usage_deltas",
                                 "SELECT hokan_fold_usage_deltas()"};

}  // namespace hokan::archive::sql
