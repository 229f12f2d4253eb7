-- hokan 001: facilities, application entities and the DICOM information model
-- (patient / study / series / instance) with the storage facts of each instance.
--
-- Every row belongs to exactly one facility: the same Patient ID at two
-- facilities is two patients. Text attributes are stored as UTF-8; DICOM
-- dates (DA) and times (TM) are kept in their DICOM text form ('YYYYMMDD',
-- 'HHMMSS.FFFFFF'), which sorts correctly for range matching.
-- All timestamps are timestamptz and written in UTC.

CREATE TABLE facilities (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- An AE title known to the archive. Calling AE titles are matched exactly
-- (trailing spaces removed). allowed_networks empty = any peer address.
CREATE TABLE application_entities (
    id                bigserial PRIMARY KEY,
    ae_title          text NOT NULL UNIQUE CHECK (ae_title ~ '^[^\\]{1,16}$' AND ae_title = btrim(ae_title)),
    facility_id       bigint NOT NULL REFERENCES facilities (id),
    role              text NOT NULL CHECK (role IN ('modality', 'relay', 'viewer', 'destination')),
    host              text,
    port              integer CHECK (port BETWEEN 1 AND 65535),
    allowed_networks  cidr[] NOT NULL DEFAULT '{}',
    may_store         boolean NOT NULL DEFAULT false,
    source            text NOT NULL DEFAULT 'admin' CHECK (source IN ('config', 'admin')),
    enabled           boolean NOT NULL DEFAULT true,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX application_entities_facility_idx ON application_entities (facility_id);

CREATE TABLE patients (
    id                      bigserial PRIMARY KEY,
    facility_id             bigint NOT NULL REFERENCES facilities (id),
    patient_id              text NOT NULL,            -- (0010,0020), '' when absent
    issuer_of_patient_id    text NOT NULL DEFAULT '', -- (0010,0021)
    patient_name            text NOT NULL DEFAULT '', -- (0010,0010)
    patient_birth_date      text NOT NULL DEFAULT '', -- (0010,0030) DA
    patient_sex             text NOT NULL DEFAULT '', -- (0010,0040)
    specific_character_set  text NOT NULL DEFAULT '', -- as received
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (facility_id, patient_id)
);

CREATE TABLE studies (
    id                        bigserial PRIMARY KEY,
    facility_id               bigint NOT NULL REFERENCES facilities (id),
    patient_fk                bigint NOT NULL REFERENCES patients (id),
    study_instance_uid        text NOT NULL,            -- (0020,000D)
    study_date                text NOT NULL DEFAULT '', -- (0008,0020) DA
    study_time                text NOT NULL DEFAULT '', -- (0008,0030) TM
    accession_number          text NOT NULL DEFAULT '', -- (0008,0050)
    study_id                  text NOT NULL DEFAULT '', -- (0020,0010)
    study_description         text NOT NULL DEFAULT '', -- (0008,1030)
    referring_physician_name  text NOT NULL DEFAULT '', -- (0008,0090)
    modalities_in_study       text[] NOT NULL DEFAULT '{}', -- (0008,0061), kept at ingest
    specific_character_set    text NOT NULL DEFAULT '',
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    UNIQUE (facility_id, study_instance_uid)
);
CREATE INDEX studies_patient_idx ON studies (patient_fk);

CREATE TABLE series (
    id                   bigserial PRIMARY KEY,
    facility_id          bigint NOT NULL REFERENCES facilities (id),
    study_fk             bigint NOT NULL REFERENCES studies (id),
    series_instance_uid  text NOT NULL,            -- (0020,000E)
    modality             text NOT NULL DEFAULT '', -- (0008,0060)
    series_number        text NOT NULL DEFAULT '', -- (0020,0011) IS
    series_description   text NOT NULL DEFAULT '', -- (0008,103E)
    body_part_examined   text NOT NULL DEFAULT '', -- (0018,0015)
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (facility_id, series_instance_uid)
);
CREATE INDEX series_study_idx ON series (study_fk);

CREATE TABLE instances (
    id                      bigserial PRIMARY KEY,
    facility_id             bigint NOT NULL REFERENCES facilities (id),
    series_fk               bigint NOT NULL REFERENCES series (id),
    sop_instance_uid        text NOT NULL,            -- (0008,0018)
    sop_class_uid           text NOT NULL,            -- (0008,0016)
    instance_number         text NOT NULL DEFAULT '', -- (0020,0013) IS
    number_of_frames        integer,                  -- (0028,0008)
    rows                    integer,                  -- (0028,0010)
    columns                 integer,                  -- (0028,0011)
    specific_character_set  text NOT NULL DEFAULT '', -- (0008,0005) as received
    transfer_syntax_uid     text NOT NULL,            -- (0002,0010) as stored
    relative_path           text NOT NULL UNIQUE,     -- below the storage root
    size_bytes              bigint NOT NULL CHECK (size_bytes > 0),
    checksum_sha256         text NOT NULL CHECK (checksum_sha256 ~ '^[0-9a-f]{64}$'),
    received_at             timestamptz NOT NULL DEFAULT now(),
    calling_ae              text NOT NULL,
    UNIQUE (facility_id, sop_instance_uid)
);
CREATE INDEX instances_series_idx ON instances (series_fk);
