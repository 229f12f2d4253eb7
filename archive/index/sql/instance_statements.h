#pragma once

// Index-internal: only archive/index/ and billing's SQL files include the
// headers under archive/index/sql/ (they name pqxx types).
//
// The statements InstanceIndex runs per association and per instance
// (instance_statements.cc), prepared once per connection.

#include "archive/index/sql/statement.h"

namespace hokan::archive::sql {

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

// Counters, study expiry and facility usage for a batch's new instances:
// $1 series ids, $2 sizes, $3 expiries ('infinity' = kept forever), $4
// whether the instance created its series; arrays of equal length; $5
// hokan's "now". A study's expires_at is the latest of its instances'
// (NULL, forever, wins).
extern const Statement kCountAddedInstances;

// The instance alone, into a series this node knows is current; $18 is
// hokan's "now" (received time).
extern const Statement kInsertInstanceIntoSeries;

}  // namespace hokan::archive::sql
