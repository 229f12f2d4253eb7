-- hokan 018: a purpose is granted to a calling AE title of one facility.
--
-- Until now purpose_grants named only the calling AE title, so a grant to
-- CT1 let every facility's CT1 retrieve under that purpose (and pay its
-- fees): AE titles repeat across hospitals (schema 015). A grant now names
-- the facility whose caller it is.
--
-- Existing grants are kept: each becomes one grant per facility that knows
-- its AE title as a caller (before 015 an AE title had one facility, so
-- that is the facility the grant was made for). A grant whose AE title no
-- facility knows as a caller admitted nobody and is dropped; its making
-- stays in the audit log (purpose.grant).

ALTER TABLE purpose_grants DROP CONSTRAINT purpose_grants_pkey;
ALTER TABLE purpose_grants ADD COLUMN facility_id bigint REFERENCES facilities (id) ON DELETE CASCADE;

INSERT INTO purpose_grants (purpose_id, ae_title, granted_at, facility_id)
SELECT DISTINCT g.purpose_id, g.ae_title, g.granted_at, e.facility_id
  FROM purpose_grants g
  JOIN application_entities e ON e.ae_title = g.ae_title AND e.role <> 'destination'
 WHERE g.facility_id IS NULL;

DELETE FROM purpose_grants WHERE facility_id IS NULL;

ALTER TABLE purpose_grants ALTER COLUMN facility_id SET NOT NULL;
ALTER TABLE purpose_grants ADD PRIMARY KEY (purpose_id, facility_id, ae_title);
