-- hokan 009: deluxe offline media export. A facility whose current contract
-- has service_class 'deluxe' gets, every day at its export_at (UTC), a
-- DICOMDIR file set of the studies received since its previous export's
-- cut-off. One row per export written and recorded (an export that had
-- nothing new writes nothing and records nothing), and one row per study
-- it holds. Studies are named by UID, not by a foreign key: expiry may
-- delete a study later, and the record of what went to media stays.

CREATE TABLE offline_exports (
    id                 bigserial PRIMARY KEY,
    facility_id        bigint NOT NULL REFERENCES facilities (id),
    -- The media folder as written (absolute path, final name, no ".partial").
    folder             text NOT NULL UNIQUE CHECK (folder <> ''),
    -- Studies with previous_cut_off < last_received_at <= cut_off are in it.
    cut_off            timestamptz NOT NULL,
    previous_cut_off   timestamptz,
    studies            integer NOT NULL CHECK (studies >= 0),
    instances          integer NOT NULL CHECK (instances >= 0),
    bytes              bigint NOT NULL CHECK (bytes >= 0),
    -- Instances the DICOMDIR profile refused (not on the media; see the log
    -- and the audit row's detail).
    refused_instances  integer NOT NULL DEFAULT 0 CHECK (refused_instances >= 0),
    started_at         timestamptz NOT NULL,
    finished_at        timestamptz NOT NULL,
    node               text NOT NULL,   -- the node (or 'hokan@<host>') that wrote it
    actor              text NOT NULL,   -- 'hokan-archive@<node>' or the operator
    CHECK (previous_cut_off IS NULL OR previous_cut_off < cut_off),
    CHECK (finished_at >= started_at),
    UNIQUE (facility_id, cut_off)
);
CREATE INDEX offline_exports_facility_idx ON offline_exports (facility_id, cut_off);

CREATE TABLE offline_export_studies (
    export_id           bigint NOT NULL REFERENCES offline_exports (id),
    study_instance_uid  text NOT NULL,
    -- The study's folder on the media, e.g. 'DICOM/ST000001'.
    media_folder        text NOT NULL,
    instances           integer NOT NULL CHECK (instances >= 0),
    bytes               bigint NOT NULL CHECK (bytes >= 0),
    last_received_at    timestamptz,
    PRIMARY KEY (export_id, study_instance_uid)
);
CREATE INDEX offline_export_studies_uid_idx ON offline_export_studies (study_instance_uid);
