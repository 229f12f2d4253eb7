-- hokan 010: purposes of retrieval, their available ranges, fee schedules,
-- fee events, the price list for contract, storage, overage and export
-- charges, and daily usage samples. Money is integer minor units with an
-- ISO 4217 currency; days are UTC. Billing views come in 011 (schema
-- `billing`), the interface for billing staff.

-- Why data is retrieved. The archive answers on one AE title per purpose
-- (called_ae_title); the (calling AE, called AE) pair decides the purpose of
-- an association. The available range says what the purpose may retrieve.
CREATE TABLE purposes (
    id                    bigserial PRIMARY KEY,
    name                  text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_-]{0,31}$'),
    called_ae_title       text NOT NULL UNIQUE
                              CHECK (called_ae_title ~ '^[^\\]{1,16}$'
                                     AND called_ae_title = btrim(called_ae_title)),
    description           text NOT NULL DEFAULT '',
    -- Image kinds: modalities (e.g. CT, MR) and/or SOP Class UIDs. A range
    -- names at least one; '*' in modalities means every modality.
    modalities            text[] NOT NULL DEFAULT '{}',
    sop_class_uids        text[] NOT NULL DEFAULT '{}',
    CHECK (cardinality(modalities) + cardinality(sop_class_uids) > 0),
    -- Pixel density: larger images are downscaled on the way out (derived
    -- images with new SOP Instance UIDs). NULL: no limit.
    max_rows              integer CHECK (max_rows BETWEEN 16 AND 65535),
    max_columns           integer CHECK (max_columns BETWEEN 16 AND 65535),
    -- Processing rights: the original pixels, or a lossy-compressed copy only.
    pixel_rights          text NOT NULL DEFAULT 'original'
                              CHECK (pixel_rights IN ('original', 'lossy_only')),
    -- Report rights: retrieve SR/PDF reports; store reports.
    may_retrieve_reports  boolean NOT NULL DEFAULT false,
    may_store_reports     boolean NOT NULL DEFAULT false,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- Which calling AE titles may use which purposes.
CREATE TABLE purpose_grants (
    purpose_id   bigint NOT NULL REFERENCES purposes (id) ON DELETE CASCADE,
    ae_title     text NOT NULL CHECK (ae_title ~ '^[^\\]{1,16}$' AND ae_title = btrim(ae_title)),
    granted_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (purpose_id, ae_title)
);
CREATE INDEX purpose_grants_ae_idx ON purpose_grants (ae_title);

-- The fee per examination (study) retrieved under a purpose, optionally per
-- modality (NULL: any modality without its own line). A change is a new row
-- with a later effective_from: past events keep the price they were charged.
CREATE TABLE fee_schedules (
    id              bigserial PRIMARY KEY,
    purpose_id      bigint NOT NULL REFERENCES purposes (id),
    modality        text CHECK (modality ~ '^[A-Z0-9]{1,16}$'),
    amount_minor    bigint NOT NULL CHECK (amount_minor >= 0),
    currency        char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    effective_from  date NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (purpose_id, modality, effective_from)
);

-- One billable retrieval: a C-MOVE or C-GET that delivered at least one
-- instance of a study under a purpose, once per (facility, study, purpose,
-- billing day). Retries, parallel moves and partial re-sends the same day
-- add to the counts but never charge again (the unique key, not C++).
CREATE TABLE fee_events (
    id                    bigserial PRIMARY KEY,
    facility_id           bigint NOT NULL REFERENCES facilities (id),
    study_instance_uid    text NOT NULL,
    purpose_id            bigint NOT NULL REFERENCES purposes (id),
    billing_day           date NOT NULL,           -- UTC day of the first delivery
    modality              text NOT NULL DEFAULT '', -- the study's (first) modality, for pricing
    fee_schedule_id       bigint REFERENCES fee_schedules (id),  -- NULL: no fee line applied
    amount_minor          bigint NOT NULL CHECK (amount_minor >= 0),
    currency              char(3) NOT NULL DEFAULT 'JPY',
    calling_ae            text NOT NULL,
    instances_delivered   integer NOT NULL CHECK (instances_delivered >= 0),
    instances_failed      integer NOT NULL DEFAULT 0 CHECK (instances_failed >= 0),
    first_delivered_at    timestamptz NOT NULL,
    last_delivered_at     timestamptz NOT NULL,
    UNIQUE (facility_id, study_instance_uid, purpose_id, billing_day)
);
CREATE INDEX fee_events_day_idx ON fee_events (billing_day, facility_id);

-- Prices that are not per exam: the rate per accounting point (contract
-- charges: annual 10 points per year, monthly 1 point per month), storage
-- per GB-month, quota overage per GB-month over quota, and each deluxe
-- offline export. A change is a new row with a later effective_from.
CREATE TABLE price_list (
    id              bigserial PRIMARY KEY,
    item            text NOT NULL CHECK (item IN ('accounting_point', 'storage_gb_month',
                                                  'quota_overage_gb_month', 'offline_export')),
    amount_minor    bigint NOT NULL CHECK (amount_minor >= 0),
    currency        char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    effective_from  date NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (item, effective_from)
);

-- Daily usage per facility (taken by a job from facility_usage), priced
-- per GB-month in the billing views.
CREATE TABLE usage_samples (
    facility_id   bigint NOT NULL REFERENCES facilities (id),
    sample_day    date NOT NULL,
    used_bytes    bigint NOT NULL CHECK (used_bytes >= 0),
    quota_bytes   bigint,                            -- the contract's quota that day
    taken_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, sample_day)
);
