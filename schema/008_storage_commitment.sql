-- hokan 008: Storage Commitment Push Model (PS3.4 Annex J). Each accepted
-- N-ACTION is kept with the instances it names, together with a
-- 'commitment-report' job (table jobs, schema 005) created in the same
-- transaction, so a report owed survives a restart. The report's outcome
-- (per instance and per request) is recorded when it has been delivered.

CREATE TABLE commitment_requests (
    id                  bigserial PRIMARY KEY,
    facility_id         bigint NOT NULL REFERENCES facilities (id),
    transaction_uid     text NOT NULL CHECK (transaction_uid <> ''),  -- (0008,1195)
    requester_ae        text NOT NULL,           -- calling AE of the N-ACTION
    received_at         timestamptz NOT NULL DEFAULT now(),
    received_by         text NOT NULL,           -- node name
    -- pending: report owed; reported: delivered (N-EVENT-REPORT-RSP
    -- received); failed: given up after the job's last attempt.
    state               text NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'reported', 'failed')),
    committed_count     integer CHECK (committed_count >= 0),
    failed_count        integer CHECK (failed_count >= 0),
    reported_at         timestamptz,
    -- 'same': on the N-ACTION's association; 'new': on one the archive opened.
    report_association  text CHECK (report_association IN ('same', 'new')),
    report_address      text NOT NULL DEFAULT '',  -- "AE@host:port" of a new association
    attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error          text NOT NULL DEFAULT '',
    CHECK ((state = 'reported') = (reported_at IS NOT NULL))
);
CREATE INDEX commitment_requests_facility_idx ON commitment_requests (facility_id, received_at);
CREATE INDEX commitment_requests_transaction_idx ON commitment_requests (transaction_uid);

-- The instances of a request, in the order the N-ACTION listed them, and
-- what the last delivered report said about each.
CREATE TABLE commitment_items (
    request_id        bigint NOT NULL REFERENCES commitment_requests (id) ON DELETE CASCADE,
    position          integer NOT NULL CHECK (position >= 0),
    sop_class_uid     text NOT NULL,   -- (0008,1150)
    sop_instance_uid  text NOT NULL,   -- (0008,1155)
    outcome           text CHECK (outcome IN ('committed', 'failed')),
    -- Failure Reason (0008,1197): 272 = 0x0110 processing failure,
    -- 274 = 0x0112 no such object instance, 281 = 0x0119 class-instance conflict.
    failure_reason    integer CHECK (failure_reason IN (272, 274, 281)),
    CHECK ((outcome = 'failed') = (failure_reason IS NOT NULL)),
    PRIMARY KEY (request_id, position)
);
