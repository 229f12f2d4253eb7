#pragma once

// What an admitted caller is, and the plain values the archive services
// take for it (scope, store rights, retrieval range).

#include <cstdint>
#include <optional>
#include <string>

#include "archive/ingest/storage_gate.h"
#include "archive/model/find_request.h"
#include "archive/query/query_service.h"
#include "archive/retrieve/retrieve_service.h"
#include "billing/purposes.h"

namespace hokan::scp {

// The admitted caller of one association: its facility, and whether it may store.
struct CallerScope {
  std::int64_t facility_id = 0;
  bool may_store = false;
  std::string calling_ae;
  // The purpose the association retrieves under; nullopt: none (no range, no fees).
  std::optional<billing::Purpose> purpose;
  // False: C-FIND, C-MOVE and C-GET are refused with 0x0124 (a purpose is
  // bound to the called AE title and the caller is not granted it).
  bool may_retrieve = true;
  std::string facility_name;  // for answers naming it (the facility contract)
};

// A purpose's available range as the query index applies it in C-FIND.
archive::RangeFilter RangeFilterOf(const billing::AvailableRange& range);

archive::QueryScope QueryScopeOf(const CallerScope& caller);
archive::RetrievalCaller RetrievalCallerOf(const CallerScope& caller);
// Report rights apply only to a caller retrieving under a purpose.
archive::StoreRights StoreRightsOf(const CallerScope& caller);

// "not granted purpose <name>": the Error Comment of a refused query or retrieval.
std::string NotGrantedComment(const CallerScope& caller);

}  // namespace hokan::scp
