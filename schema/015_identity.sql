-- hokan 015: an AE title is no longer unique in the whole archive.
--
-- AE titles repeat across hospitals (CT1, STORESCU, a teleradiology station
-- that reads for two of them). Until now application_entities.ae_title was
-- UNIQUE, so an AE title listed under a second facility silently moved
-- there. From now on a facility holds at most one caller row (role
-- modality, relay or viewer) and at most one destination row (role
-- destination) per AE title; the same AE title may appear under any number
-- of facilities. Which facility an association belongs to is decided at
-- admission from the called AE title, the calling AE title and the peer
-- address (docs/architecture.md, "Identity").
--
-- Every existing row is kept: the old UNIQUE (ae_title) makes them satisfy
-- the new key. A row of an old database that served as caller and move
-- destination at once (one row, role modality or viewer, with host and
-- port) keeps working as both until the next start-up's configuration sync
-- gives the destination its own row.

ALTER TABLE application_entities DROP CONSTRAINT application_entities_ae_title_key;

CREATE UNIQUE INDEX application_entities_identity_key
    ON application_entities (facility_id, ae_title, (role = 'destination'));

-- Admission looks callers up by AE title across facilities.
CREATE INDEX application_entities_ae_title_idx ON application_entities (ae_title);
