-- The installation: one row naming this database (issue 14, item 6).
--
-- hokan-archive writes the id into its storage root (<root>/.hokan-storage)
-- at its first start; every tool that deletes stored files (expiry: the
-- archive's job and `hokan expire`) first checks that the root it was given
-- carries this id, so a wrong path or an unmounted volume never costs the
-- index its rows. storage_marked_at says a root has been marked: from then
-- on the archive no longer marks a root without a marker by itself (that
-- root is not the one it had) but refuses to start until an operator says
-- so (`hokan storage adopt`).

CREATE TABLE installation (
    singleton           boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    installation_id     text NOT NULL CHECK (installation_id ~ '^[0-9a-f]{32}$'),
    created_at          timestamptz NOT NULL,
    storage_marked_at   timestamptz,
    storage_marked_root text
);
