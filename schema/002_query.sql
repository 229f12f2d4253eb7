-- hokan 002: query support (C-FIND, PS3.4 Annex C). Search forms of the
-- patient's name and the indexes the query statements of
-- archive/index/query_index.cc are written for. Only indexes and derived
-- columns: no stored fact changes.
--
-- Person Name matching is case-insensitive and per component group
-- (alphabetic = ideographic = phonetic). Each group's search form is a
-- stored generated column, lowered and without trailing '^' and spaces, with
-- a btree text_pattern_ops index, so exact values and prefix wildcards
-- ('yamada*' -> LIKE 'yamada%') use an index per group and the three are
-- combined with a BitmapOr. (One text[] column would not serve prefix LIKE.)
-- Adding the columns rewrites the patients table once.

ALTER TABLE patients
    ADD COLUMN patient_name_search_alphabetic text NOT NULL
        GENERATED ALWAYS AS (rtrim(split_part(lower(patient_name), '=', 1), '^ ')) STORED,
    ADD COLUMN patient_name_search_ideographic text NOT NULL
        GENERATED ALWAYS AS (rtrim(split_part(lower(patient_name), '=', 2), '^ ')) STORED,
    ADD COLUMN patient_name_search_phonetic text NOT NULL
        GENERATED ALWAYS AS (rtrim(split_part(lower(patient_name), '=', 3), '^ ')) STORED;

CREATE INDEX patients_name_alphabetic_idx
    ON patients (facility_id, patient_name_search_alphabetic text_pattern_ops);
CREATE INDEX patients_name_ideographic_idx
    ON patients (facility_id, patient_name_search_ideographic text_pattern_ops);
CREATE INDEX patients_name_phonetic_idx
    ON patients (facility_id, patient_name_search_phonetic text_pattern_ops);
-- A name given with '=' is matched against the whole name.
CREATE INDEX patients_name_lower_idx
    ON patients (facility_id, lower(patient_name) text_pattern_ops);

-- Date ranges compare DICOM text in byte order (COLLATE "C"), whatever the
-- database's collation.
CREATE INDEX studies_date_idx ON studies (facility_id, study_date COLLATE "C");
-- Exact and prefix-wildcard Accession Numbers.
CREATE INDEX studies_accession_idx ON studies (facility_id, accession_number text_pattern_ops);
