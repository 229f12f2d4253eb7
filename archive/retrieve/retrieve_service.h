#pragma once

// The retrieve service: what a caller, under a purpose, may receive of the
// instances a retrieval selects, in which form (as stored or derived), and
// what the retrieval leaves behind (fee events and its audit row). Edges
// (DIMSE C-MOVE / C-GET, next WADO) do the sending and report back.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/index/query_index.h"
#include "archive/model/find_request.h"
#include "archive/model/retrieve_request.h"
#include "archive/retrieve/retrieval_ledger.h"
#include "archive/storage/file_store.h"

namespace hokan::archive {

// What a purpose lets its callers receive.
struct RetrievalRange {
  std::int64_t purpose_id = 0;
  std::string purpose_name;
  RangeFilter filter;               // which instances (archive/model/find_request.h)
  std::optional<int> max_rows;      // larger images go downscaled
  std::optional<int> max_columns;
  bool lossy_only = false;          // images go as lossy-compressed copies only
};

// Who retrieves.
struct RetrievalCaller {
  std::int64_t facility_id = 0;
  std::string calling_ae;
  std::optional<RetrievalRange> purpose;  // nullopt: everything in scope, as stored
};

// True when `filter` includes an instance of `sop_class_uid` in a series of
// `modality`: its class is listed, or every modality, or its modality is
// listed; report classes only with include_reports. Pure.
bool RangeIncludes(const RangeFilter& filter, const std::string& modality,
                   const std::string& sop_class_uid);

enum class DeliveryForm {
  kAsStored,  // the stored file, bytes unchanged
  kDerived,   // an image derived under the purpose's limits (downscaled and/or lossy)
};

// The form an image of rows x columns (0: no pixel matrix) goes in under
// `range` (nullopt: as stored). Pure.
DeliveryForm FormUnder(const std::optional<RetrievalRange>& range, int rows, int columns);

struct Delivery {
  StoredInstance instance;
  DeliveryForm form = DeliveryForm::kAsStored;
};

enum class RetrievePlanStatus { kPlanned, kInvalidRequest, kUnavailable };

// The sub-operations of one retrieval, in study, series, instance order.
struct RetrievalPlan {
  RetrievePlanStatus status = RetrievePlanStatus::kPlanned;
  std::string message;                 // not kPlanned: why
  std::vector<Delivery> deliveries;    // in range only
  std::size_t left_out = 0;            // matched but outside the purpose's range
};

// How each planned delivery went, by index into the plan.
enum class DeliveryResult { kNotAttempted, kDelivered, kFailed };

// Thread-safe.
class RetrieveService {
 public:
  // Everything given must outlive the service; `ledger` nullptr: nothing
  // is recorded.
  RetrieveService(QueryIndex& index, const FileStore& files, RetrievalLedger* ledger)
      : index_(index), files_(files), ledger_(ledger) {}

  // The instances `request` selects in the caller's scope (its facility and
  // the patients shared with it), those outside the purpose's range left
  // out, each with its form. Never throws: kInvalidRequest (a missing unique
  // key) or kUnavailable (the index failed; logged).
  RetrievalPlan Plan(const RetrievalCaller& caller, RetrieveRequest request) const;

  // Call before sending delivery `next`: every so often tells the file
  // store which files come after it, so a cold page cache is not read one
  // file at a time. Never throws.
  void ReadAhead(const RetrievalPlan& plan, std::size_t next) const;

  // Records the retrieval (RetrievalLedger): one audit row (also when
  // nothing was delivered), and under a purpose one fee event per study
  // with a delivered instance, charged to the caller's facility with the
  // study's owner beside it, in one transaction. `ended_early`: the
  // retrieval stopped before its last sub-operation (cancel, requestor
  // gone); what was delivered by then is charged all the same. Call once
  // per retrieval. Failures are logged, never thrown: the deliveries
  // happened.
  void Record(const RetrievalCaller& caller, const std::string& operation,
              const RetrievalPlan& plan, const std::vector<DeliveryResult>& results,
              bool ended_early = false) const;

 private:
  QueryIndex& index_;
  const FileStore& files_;
  RetrievalLedger* ledger_;
};

// The per-study record of `results` (studies in the order first sent). Pure.
std::vector<RetrievedStudy> StudiesOf(const RetrievalPlan& plan,
                                      const std::vector<DeliveryResult>& results);

}  // namespace hokan::archive
