-- hokan 003: sharing grants. A facility (the owner) lets another facility
-- (the grantee) look up and retrieve one patient's data by Patient ID: the
-- "look up a patient's records at another hospital" case. Without a grant
-- nothing crosses facilities. Grants are revoked, never deleted, so the
-- history of who could see what stays.

CREATE TABLE sharing_grants (
    id                   bigserial PRIMARY KEY,
    owner_facility_id    bigint NOT NULL REFERENCES facilities (id),
    grantee_facility_id  bigint NOT NULL REFERENCES facilities (id),
    patient_id           text NOT NULL CHECK (patient_id <> ''),
    reason               text NOT NULL DEFAULT '',
    granted_by           text NOT NULL,
    granted_at           timestamptz NOT NULL DEFAULT now(),
    revoked_by           text,
    revoked_at           timestamptz,
    CHECK (owner_facility_id <> grantee_facility_id),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
-- At most one active grant per owner, grantee and patient.
CREATE UNIQUE INDEX sharing_grants_active_idx
    ON sharing_grants (grantee_facility_id, owner_facility_id, patient_id)
    WHERE revoked_at IS NULL;
