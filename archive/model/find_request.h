#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hokan::archive {

// A C-FIND request (PS3.4 Annex C) as plain values, free of any DICOM
// toolkit type. The SCP builds it from the request identifier; QueryIndex
// (archive/index/query_index.h) answers it.

enum class QueryLevel { kPatient, kStudy, kSeries, kImage };

enum class InformationModel { kPatientRoot, kStudyRoot };

// One attribute of the identifier.
struct QueryKey {
  QueryKey(std::uint32_t tag_number = 0, std::string text = {})
      : tag(tag_number), value(std::move(text)) {}

  std::uint32_t tag = 0;  // (group << 16) | element
  // UTF-8, as received after character-set conversion, multiple values
  // joined by '\'. Empty = universal matching (return the stored value).
  std::string value;
  // Sequence keys (SQ): the sub-keys of the identifier's single item, in
  // its order; empty for other keys and for a sequence sent without items.
  bool sequence = false;
  std::vector<QueryKey> item;
};

// An available range as C-FIND applies it (plain values; the SCP builds it
// from billing::AvailableRange and keeps the same meaning):
//  - PATIENT, STUDY and SERIES level: an entity matches when it may hold
//    something in range: every_modality, or any sop_class_uids, or (for
//    studies and patients) one of its studies' Modalities in Study, (for
//    series) its Modality, is in `modalities`.
//  - IMAGE level: an instance matches when its SOP class is in
//    sop_class_uids, or every_modality, or its series' Modality is in
//    `modalities`; report classes (Structured Report, Encapsulated PDF and
//    CDA) only when include_reports.
struct RangeFilter {
  std::vector<std::string> modalities;
  std::vector<std::string> sop_class_uids;
  bool every_modality = false;
  bool include_reports = false;
};

// Matching rules (PS3.4 C.2.2.2), as QueryIndex applies them:
//  - Empty value, or "*" alone: universal; the stored value is returned.
//    Trailing spaces and NULs are not significant, nor are leading spaces
//    (except in PN).
//  - Single value: exact, case-sensitive (LO, SH, CS, IS), except PN.
//  - Wildcards '*' (any run) and '?' (one character): for LO, SH, CS and
//    PN. A wildcard in a UID, a date, a time or a number is refused.
//  - UID list: UIDs separated by '\' match any of them. For other keys
//    '\' is a literal character (no multi-value matching), except
//    ModalitiesInStudy: a study matches when any listed modality (each may
//    hold wildcards) is among its modalities.
//  - Range for dates (DA, 'YYYYMMDD') and times (TM, 'HH[MM[SS[.F{1,6}]]]'):
//    "a-b", "a-", "-b", inclusive. A partial time as an upper bound covers
//    everything it prefixes ("-0830" includes 08:30:59.9); a single time
//    value matches the same way ("0830" is 08:30:00 to 08:30:59.999999).
//    A single date is an exact date. Reversed or malformed ends are refused.
//  - Person Name (PatientName, ReferringPhysicianName): case-insensitive;
//    trailing spaces and trailing empty components ('^') do not count.
//    A value without '=' is matched against each component group of the
//    stored name (alphabetic, ideographic, phonetic) and matches when any
//    group does: stored "Yamada^Tarou=山田^太郎=やまだ^たろう" is found by
//    "Yamada^Tarou", "yamada*", "山田^太郎", "山田*" and "やまだ*". A value
//    with '=' is matched against the whole stored name ("Yamada^Tarou=
//    山田^太郎=やまだ^たろう" finds it; a wildcard may span groups there).
//  - Counts (NumberOf…Related…) are return keys only: a value is refused.
//  - Sequences (the simple one-item case of PS3.4 C.2.2.2.6), for
//    OtherPatientIDsSequence, ProcedureCodeSequence and
//    RequestAttributesSequence (see query_attributes.cc for their item
//    attributes): the key's item holds sub-keys matched by the rules above;
//    an entity matches when one stored item matches every sub-key. The
//    response carries the matching items, each with the requested
//    sub-keys. A sequence key without any sub-key returns every stored
//    item (with no attributes: the SCP asks for all of them by listing
//    SequenceItemAttributes). Sub-keys the index does not keep are returned
//    empty; a key with more than one item is refused by the SCP.
//  - Values longer than 64 KiB (65536 bytes) are refused.
//
// Hierarchy: keys of the query level and of every level above it match and
// are returned (rows are joined up to the patient). In the Study Root model
// patient attributes belong to the STUDY level. A key of a level below the
// query level is returned empty when its value is empty and refused
// otherwise. The unique key of a level above the query level (Patient ID in
// Patient Root; Study and Series Instance UID) must be universal or a single
// value: a wildcard or a list there is refused. Other keys of higher levels
// may match freely (as most archives allow). Unknown or unsupported
// attributes are not an error: their value is nullopt in every match.
//
// Refused means hokan::Error(kInvalidInput) with a message that names the
// key, e.g. "StudyDate (0008,0020): range '20260101-20250101' has its ends
// reversed".
struct FindRequest {
  InformationModel model = InformationModel::kStudyRoot;
  QueryLevel level = QueryLevel::kStudy;
  // Every key of the identifier except Specific Character Set (0008,0005)
  // and Query/Retrieve Level (0008,0052), in the identifier's order.
  std::vector<QueryKey> keys;
  // Scope: only rows of these facilities match. REQUIRES: non-empty.
  std::vector<std::int64_t> facility_ids;
  // Also match the patients other facilities share with any facility in
  // facility_ids by an active sharing grant (owner facility + Patient ID),
  // with everything below them.
  bool include_shared_patients = false;
  // When set, only what the range includes matches (a purpose's C-FIND;
  // see RangeFilter below).
  std::optional<RangeFilter> range;
};

// The stored items of a sequence key: per item, one value per sub-key of
// the request's item (same order); nullopt where the index keeps none.
using SequenceItems = std::vector<std::vector<std::optional<std::string>>>;

// One matching entity.
struct FindMatch {
  // One per request key, in the same order. The stored value as text
  // (numbers in decimal; "" when the index holds none); nullopt when the
  // attribute is not supported at this level (the SCP returns it empty).
  std::vector<std::optional<std::string>> values;
  // One per request key, same order: the matching items of a supported
  // sequence key; empty for every other key.
  std::vector<SequenceItems> sequences;
};

}  // namespace hokan::archive
