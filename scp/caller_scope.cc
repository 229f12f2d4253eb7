#include "scp/caller_scope.h"

namespace hokan::scp {

archive::RangeFilter RangeFilterOf(const billing::AvailableRange& range) {
  archive::RangeFilter filter;
  for (const auto& modality : range.modalities) {
    if (modality == "*") {
      filter.every_modality = true;
    } else {
      filter.modalities.push_back(modality);
    }
  }
  filter.sop_class_uids = range.sop_class_uids;
  filter.include_reports = range.may_retrieve_reports;
  return filter;
}

archive::QueryScope QueryScopeOf(const CallerScope& caller) {
  archive::QueryScope scope;
  scope.facility_id = caller.facility_id;
  if (caller.purpose) scope.range = RangeFilterOf(caller.purpose->range);
  return scope;
}

archive::RetrievalCaller RetrievalCallerOf(const CallerScope& caller) {
  archive::RetrievalCaller retrieval;
  retrieval.facility_id = caller.facility_id;
  retrieval.calling_ae = caller.calling_ae;
  if (caller.purpose) {
    const billing::Purpose& purpose = *caller.purpose;
    archive::RetrievalRange range;
    range.purpose_id = purpose.id;
    range.purpose_name = purpose.name;
    range.filter = RangeFilterOf(purpose.range);
    range.max_rows = purpose.range.max_rows;
    range.max_columns = purpose.range.max_columns;
    range.lossy_only = purpose.range.lossy_only;
    retrieval.purpose = range;
  }
  return retrieval;
}

archive::StoreRights StoreRightsOf(const CallerScope& caller) {
  archive::StoreRights rights;
  rights.may_store = caller.may_store;
  if (caller.purpose && caller.may_retrieve) {
    rights.may_store_reports = caller.purpose->range.may_store_reports;
    rights.purpose_name = caller.purpose->name;
  }
  return rights;
}

std::string NotGrantedComment(const CallerScope& caller) {
  return "not granted purpose " + (caller.purpose ? caller.purpose->name : std::string());
}

}  // namespace hokan::scp
