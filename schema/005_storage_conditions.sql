-- hokan 005: storage conditions and storage periods — contracts, patient
-- choices, storage rules, per-study storage facts and counters, usage per
-- facility, the audit trail and durable jobs. See ../shared/DESIGN.md,
-- "Domain model", and the README sections on contracts and rules.
--
-- All times are timestamptz (UTC in storage); contract dates are calendar
-- dates of the service period, both inclusive. Money is not here (billing).

-- Overlapping contracts of one facility are refused by an exclusion
-- constraint on (facility, date range). btree_gist is a trusted extension.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- A facility's contract: the storage condition it designated. A change is a
-- new row; the row it replaces gets superseded_at/superseded_by and is kept
-- (history is never overwritten). The current contract of a facility is the
-- row not superseded whose [starts_on, ends_on] holds today.
CREATE TABLE contracts (
    id                   bigserial PRIMARY KEY,
    facility_id          bigint NOT NULL REFERENCES facilities (id),
    service_period       text NOT NULL CHECK (service_period IN ('annual', 'monthly')),
    starts_on            date NOT NULL,
    ends_on              date NOT NULL,
    -- When the relay forwards (hokan-forward mirrors it in its own
    -- configuration): on receipt, nightly at nightly_at (UTC), or per exam
    -- once a study has been quiet for exam_quiet_minutes.
    backup_timing        text NOT NULL CHECK (backup_timing IN ('on_receipt', 'nightly', 'per_exam')),
    nightly_at           time,
    exam_quiet_minutes   integer CHECK (exam_quiet_minutes > 0),
    -- What is kept: all; only patients opted in; all but patients opted
    -- out (patient_choices); per exam (only what an accept rule selects);
    -- per modality (only kept_modalities).
    data_kept            text NOT NULL CHECK (data_kept IN
                             ('all', 'patient_opt_in', 'patient_opt_out', 'per_exam', 'per_modality')),
    kept_modalities      text[] NOT NULL DEFAULT '{}',
    quota_bytes          bigint NOT NULL CHECK (quota_bytes > 0),
    -- Over quota: refuse new data (0xA700) or recycle the oldest unheld studies.
    over_quota           text NOT NULL DEFAULT 'refuse' CHECK (over_quota IN ('refuse', 'recycle')),
    service_class        text NOT NULL CHECK (service_class IN ('economy', 'deluxe')),
    -- Deluxe: the daily time (UTC) of the offline media export.
    export_at            time,
    -- A storage period as archive/rules/storage_period.h spells it: '10y',
    -- '18m', '30d', 'until-age 25' or 'forever'.
    default_storage_period text NOT NULL,
    -- After ends_on plus this many days the facility's data expires.
    expiry_grace_days    integer NOT NULL DEFAULT 90 CHECK (expiry_grace_days >= 0),
    note                 text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL DEFAULT now(),
    created_by           text NOT NULL,
    superseded_at        timestamptz,
    superseded_by        bigint REFERENCES contracts (id),
    CHECK (ends_on >= starts_on),
    CHECK ((backup_timing = 'nightly') = (nightly_at IS NOT NULL)),
    CHECK ((backup_timing = 'per_exam') = (exam_quiet_minutes IS NOT NULL)),
    CHECK ((service_class = 'deluxe') = (export_at IS NOT NULL)),
    CHECK ((data_kept = 'per_modality') = (cardinality(kept_modalities) > 0)),
    CHECK ((superseded_at IS NULL) = (superseded_by IS NULL)),
    EXCLUDE USING gist (facility_id WITH =, daterange(starts_on, ends_on, '[]') WITH &&)
        WHERE (superseded_at IS NULL)
);
CREATE INDEX contracts_facility_idx ON contracts (facility_id, starts_on);

-- Per-patient opt-in / opt-out of a facility (data_kept patient_opt_in or
-- patient_opt_out; the rule condition patient_opted_out).
CREATE TABLE patient_choices (
    facility_id  bigint NOT NULL REFERENCES facilities (id),
    patient_id   text NOT NULL,
    choice       text NOT NULL CHECK (choice IN ('opt_in', 'opt_out')),
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    recorded_by  text NOT NULL,
    reason       text NOT NULL DEFAULT '',
    PRIMARY KEY (facility_id, patient_id)
);

-- Storage rules: condition -> action, evaluated once per instance at
-- ingest, the facility's rules first (by position), then the global ones
-- (facility_id NULL). A NULL condition column matches anything. Text
-- conditions are DICOM wildcard patterns ('*', '?'), case-sensitive except
-- calling_ae (AE titles compare trimmed). Deleting a rule sets deleted_at;
-- stored data keeps the id of the rule that decided it.
CREATE TABLE storage_rules (
    id                  bigserial PRIMARY KEY,
    facility_id         bigint REFERENCES facilities (id),
    position            integer NOT NULL,
    name                text NOT NULL CHECK (name <> ''),
    calling_ae          text,
    modality            text,
    sop_class_uid       text,
    body_part           text,
    study_description   text,
    patient_age_min     integer CHECK (patient_age_min >= 0),   -- years at study date, inclusive
    patient_age_max     integer CHECK (patient_age_max >= 0),   -- inclusive
    patient_opted_out   boolean,
    action              text NOT NULL CHECK (action IN ('accept', 'reject')),
    -- 0x0124 (Refused: Not Authorized, the default) or a failure status 0xA000-0xCFFF
    reject_status       integer CHECK (reject_status = 292 OR reject_status BETWEEN 40960 AND 53247),
    storage_period      text,   -- as contracts.default_storage_period; NULL: the contract's
    tier                text CHECK (tier IN ('hot', 'cold')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    created_by          text NOT NULL,
    deleted_at          timestamptz,
    CHECK ((action = 'reject') = (reject_status IS NOT NULL)),
    CHECK (patient_age_min IS NULL OR patient_age_max IS NULL OR patient_age_min <= patient_age_max)
);
CREATE INDEX storage_rules_order_idx ON storage_rules (facility_id, position) WHERE deleted_at IS NULL;

-- Storage facts decided at ingest. expires_at NULL: kept forever.
ALTER TABLE instances
    ADD COLUMN expires_at       timestamptz,
    ADD COLUMN storage_rule_id  bigint REFERENCES storage_rules (id),
    ADD COLUMN tier             text NOT NULL DEFAULT 'hot' CHECK (tier IN ('hot', 'cold'));

-- Per study: the latest expiry of its instances, the legal hold, and
-- counters kept current at ingest and expiry (C-FIND's related counts and
-- usage read them; nothing scans instances).
ALTER TABLE studies
    ADD COLUMN expires_at           timestamptz,
    ADD COLUMN legal_hold           boolean NOT NULL DEFAULT false,
    ADD COLUMN hold_reason          text NOT NULL DEFAULT '',
    ADD COLUMN number_of_series     integer NOT NULL DEFAULT 0 CHECK (number_of_series >= 0),
    ADD COLUMN number_of_instances  integer NOT NULL DEFAULT 0 CHECK (number_of_instances >= 0),
    ADD COLUMN size_bytes           bigint NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
    ADD COLUMN last_received_at     timestamptz;
ALTER TABLE series
    ADD COLUMN number_of_instances  integer NOT NULL DEFAULT 0 CHECK (number_of_instances >= 0);

UPDATE series e SET number_of_instances = c.n
  FROM (SELECT series_fk, count(*) AS n FROM instances GROUP BY series_fk) c
 WHERE c.series_fk = e.id;
UPDATE studies s SET number_of_series = c.series, number_of_instances = c.instances,
                     size_bytes = c.bytes, last_received_at = c.last
  FROM (SELECT e.study_fk, count(DISTINCT e.id) AS series, count(i.id) AS instances,
               COALESCE(sum(i.size_bytes), 0) AS bytes, max(i.received_at) AS last
          FROM series e LEFT JOIN instances i ON i.series_fk = e.id
         GROUP BY e.study_fk) c
 WHERE c.study_fk = s.id;

CREATE INDEX studies_expiry_idx ON studies (expires_at) WHERE NOT legal_hold;
CREATE INDEX studies_oldest_idx ON studies (facility_id, last_received_at);

-- Usage per facility, kept current by the ingest and expiry transactions.
CREATE TABLE facility_usage (
    facility_id  bigint PRIMARY KEY REFERENCES facilities (id),
    used_bytes   bigint NOT NULL DEFAULT 0 CHECK (used_bytes >= 0),
    studies      bigint NOT NULL DEFAULT 0 CHECK (studies >= 0),
    instances    bigint NOT NULL DEFAULT 0 CHECK (instances >= 0),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO facility_usage (facility_id, used_bytes, studies, instances)
SELECT f.id,
       COALESCE((SELECT sum(size_bytes) FROM studies s WHERE s.facility_id = f.id), 0),
       (SELECT count(*) FROM studies s WHERE s.facility_id = f.id),
       COALESCE((SELECT sum(number_of_instances) FROM studies s WHERE s.facility_id = f.id), 0)
  FROM facilities f;

-- Who changed, expired, recycled or refused what, when and why.
CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,            -- an operator name, or 'hokan-archive@<node>'
    action       text NOT NULL,            -- e.g. contract.add, rule.delete, hold.set, study.expire
    facility_id  bigint REFERENCES facilities (id),
    subject      text NOT NULL DEFAULT '', -- what it is about, e.g. a Study Instance UID
    detail       text NOT NULL DEFAULT '', -- what changed
    reason       text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_facility_idx ON audit_log (facility_id, at);

-- Durable background work (expiry, commitment reports, exports), claimed
-- by any node with a session advisory lock per job (archive/jobs/
-- job_queue.cc), held while the job runs and released when the node's
-- session ends, so no two nodes run one job at once and no transaction
-- stays open during the work. dedupe_key makes scheduling idempotent
-- across nodes.
CREATE TABLE jobs (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL,
    payload       jsonb NOT NULL DEFAULT '{}',
    dedupe_key    text UNIQUE,
    run_after     timestamptz NOT NULL DEFAULT now(),
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts      integer NOT NULL DEFAULT 0,
    max_attempts  integer NOT NULL DEFAULT 20 CHECK (max_attempts > 0),
    last_error    text NOT NULL DEFAULT '',
    done_by       text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);
CREATE INDEX jobs_runnable_idx ON jobs (run_after, id) WHERE state = 'pending';
