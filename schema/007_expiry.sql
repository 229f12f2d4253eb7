-- hokan 007: crash-safe deletion of expired, contract-ended and recycled
-- studies (archive/retention/expiry_service.h).
--
-- A deletion goes: claimed ('pending', with the list of the study's
-- instances and their files at that moment) -> files moved into
-- <storage root>/.quarantine/<deletion id>/ -> one transaction deletes the
-- listed instance rows (and the series, study and patient left empty),
-- decrements facility_usage, writes the audit row and sets 'deleted' ->
-- the quarantine folder is removed -> 'finished'. A deletion that can no
-- longer go ahead (a hold was set, the expiry moved, a file cannot be
-- moved) becomes 'cancelled': its files are put back, then 'finished'.
-- Any node settles what a dead node left unfinished.

CREATE TABLE expiry_deletions (
    id                  bigserial PRIMARY KEY,
    study_id            bigint NOT NULL,   -- no foreign key: the study row goes away
    facility_id         bigint NOT NULL REFERENCES facilities (id),
    study_instance_uid  text NOT NULL,
    -- Why: expires_at passed; the facility's last contract ended (plus
    -- grace) with no current one; or the facility is over its quota and
    -- its contract recycles.
    cause               text NOT NULL CHECK (cause IN ('expired', 'contract_ended', 'over_quota')),
    reason              text NOT NULL,     -- the audit row's reason
    actor               text NOT NULL,     -- the audit row's actor
    state               text NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'deleted', 'cancelled', 'finished')),
    instances_deleted   integer,           -- set with state 'deleted'
    bytes_deleted       bigint,
    note                text NOT NULL DEFAULT '',  -- why it was cancelled
    created_at          timestamptz NOT NULL DEFAULT now(),
    settled_at          timestamptz
);
-- At most one deletion of a study in flight: a second claim (another node,
-- the CLI) is a no-op.
CREATE UNIQUE INDEX expiry_deletions_in_flight_idx ON expiry_deletions (study_id)
    WHERE state IN ('pending', 'cancelled');
CREATE INDEX expiry_deletions_unsettled_idx ON expiry_deletions (id)
    WHERE state <> 'finished';

-- The instances a deletion covers, as claimed. Instances received into the
-- study later are not listed and are kept. Rows go when it is finished.
CREATE TABLE expiry_deletion_files (
    deletion_id    bigint NOT NULL REFERENCES expiry_deletions (id) ON DELETE CASCADE,
    instance_id    bigint NOT NULL,
    relative_path  text NOT NULL,      -- below the storage root
    PRIMARY KEY (deletion_id, instance_id)
);

-- Selection of the oldest studies of a facility for recycling.
CREATE INDEX studies_unheld_oldest_idx ON studies (facility_id, last_received_at, id)
    WHERE NOT legal_hold;
