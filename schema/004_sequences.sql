-- hokan 004: the sequences C-FIND can match (PS3.4 C.2.2.2.6, one item).
-- Each is kept on its level's row as a jsonb array of items in the order
-- the data set holds them; an item is an object keyed by the item
-- attributes' keywords (archive/query/query_attributes.cc lists them) with
-- UTF-8 text values, e.g. [{"CodeValue": "RPID17", "CodingSchemeDesignator":
-- "RADLEX", "CodeMeaning": "CT chest"}]. Written at ingest like the other
-- attributes of the row (the latest instance's values win). Rows stored
-- before this migration hold [] until an instance of them arrives again.

ALTER TABLE patients
    ADD COLUMN other_patient_ids jsonb NOT NULL DEFAULT '[]'
        CHECK (jsonb_typeof(other_patient_ids) = 'array');
ALTER TABLE studies
    ADD COLUMN procedure_codes jsonb NOT NULL DEFAULT '[]'
        CHECK (jsonb_typeof(procedure_codes) = 'array');
ALTER TABLE series
    ADD COLUMN request_attributes jsonb NOT NULL DEFAULT '[]'
        CHECK (jsonb_typeof(request_attributes) = 'array');
