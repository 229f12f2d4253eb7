#include "archive/ingest/storage_gate.h"

#include "archive/ingest/ingest_service.h"
#include "archive/model/available_range.h"

namespace hokan::archive {

IngestResult CheckStoreRights(const StoreRights& rights, const std::string& sop_class_uid) {
  if (!rights.may_store) {
    return {IngestStatus::kNotAuthorized, "this AE title may query and retrieve, not store", 0};
  }
  if (!rights.may_store_reports && IsReportSopClass(sop_class_uid)) {
    return {IngestStatus::kNotAuthorized,
            "purpose " + rights.purpose_name + " may not store reports", 0};
  }
  return {IngestStatus::kStored, {}, 0};
}

StorageGate::StorageGate(StorageConditionsIndex& index, std::int64_t facility_id, TimePoint now)
    : index_(index), facility_id_(facility_id), conditions_(index.Load(facility_id, now)) {}

StorageDecision StorageGate::Decide(const std::string& calling_ae,
                                    const InstanceAttributes& attributes,
                                    TimePoint received_at) {
  if (!conditions_.contract) {
    StorageDecision refused;
    refused.status = kRefusedNotAuthorized;
    refused.reason = "the facility has no current contract";
    refused.rule_name = "contract";
    return refused;
  }
  auto choice = patient_choices_.find(attributes.patient_id);
  if (choice == patient_choices_.end()) {
    choice = patient_choices_
                 .emplace(attributes.patient_id,
                          index_.PatientChoice(facility_id_, attributes.patient_id))
                 .first;
  }
  IngestFacts facts;
  facts.calling_ae = calling_ae;
  facts.patient_id = attributes.patient_id;
  facts.modality = attributes.modality;
  facts.sop_class_uid = attributes.sop_class_uid;
  facts.body_part = attributes.body_part_examined;
  facts.study_description = attributes.study_description;
  facts.study_date = attributes.study_date;
  facts.patient_birth_date = attributes.patient_birth_date;
  facts.patient_choice = choice->second;
  facts.received_at = received_at;
  return DecideStorage(*conditions_.contract, conditions_.rules, facts);
}

}  // namespace hokan::archive
