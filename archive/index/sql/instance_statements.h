#pragma once

// Index-internal: only archive/index/ and billing's SQL files include the
// headers under archive/index/sql/ (they name pqxx types).
//
// The statements InstanceIndex runs per association and per instance
// (instance_statements.cc), prepared once per connection.

#include "archive/index/sql/statement.h"

namespace hokan::archive::sql {

// The enabled caller rows (never destinations) of an AE title, one per
// facility, with the peer address checked against its allowed networks.
extern const Statement kFindCaller;

extern const Statement kFindInstanceChecksum;

extern const Statement kChecksumAt;

// Removes an instance row with the counters and usage it added.
extern const Statement kRemoveInstanceAt;

// Adds an instance with its patient, study and series in one statement.
// Patient, study and series rows are written only when the instance is new
// and only when a value differs (no dead tuples for the usual repeat); the
// UNION ALL falls back to the existing row when nothing was written.
// $37 is hokan's "now" (created, updated and received times).
// Returns (checksum of an existing instance, id of the inserted one).
extern const Statement kInsertInstance;

// One commit batch through schema 013's hokan_index_batch: $1-$19 arrays
// of equal length (facility, series id, instance values, already_added,
// new_series), $20 hokan's "now". Returns (ordinal, existing checksum,
// inserted) per row.
extern const Statement kIndexBatch;

// Folds facility usage deltas (schema 013); returns how many it folded.
extern const Statement kFoldUsageDeltas;

}  // namespace hokan::archive::sql
