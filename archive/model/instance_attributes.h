#pragma once

#include <string>
#include <utility>
#include <vector>

namespace hokan::archive {

// The header attributes the archive indexes for one instance, as plain
// UTF-8 text (already converted from the data set's character set).
// Absent attributes are empty; absent numbers are -1.
//
// One item of an indexed sequence: (keyword, value) for each of its item
// attributes the index keeps (archive/query/query_attributes.h,
// SequenceItemAttributes) that the item holds, in that order.
using AttributeItem = std::vector<std::pair<std::string, std::string>>;

struct InstanceAttributes {
  // Patient
  std::string patient_id;
  std::string issuer_of_patient_id;
  std::string patient_name;
  std::string patient_birth_date;
  std::string patient_sex;
  std::vector<AttributeItem> other_patient_ids;  // OtherPatientIDsSequence
  // Study
  std::string study_instance_uid;
  std::string study_date;
  std::string study_time;
  std::string accession_number;
  std::string study_id;
  std::string study_description;
  std::string referring_physician_name;
  std::vector<AttributeItem> procedure_codes;  // ProcedureCodeSequence
  // Series
  std::string series_instance_uid;
  std::string modality;
  std::string series_number;
  std::string series_description;
  std::string body_part_examined;
  std::vector<AttributeItem> request_attributes;  // RequestAttributesSequence
  // Instance
  std::string sop_instance_uid;
  std::string sop_class_uid;
  std::string instance_number;
  int number_of_frames = -1;
  int rows = -1;
  int columns = -1;
  std::string specific_character_set;  // as received, e.g. "ISO_IR 100"
  std::string transfer_syntax_uid;     // of the stored file
};

}  // namespace hokan::archive
