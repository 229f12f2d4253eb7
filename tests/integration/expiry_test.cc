// Expiry against a real archive: `hokan expire --dry-run|--now`, the
// archive's expiry worker at a clock advance, legal holds, contract end
// plus grace, quota recycling, crashes at every step of a deletion
// (failpoints), an instance arriving during a deletion, and two nodes plus
// operators expiring one database and storage root at once.
//
// Each test's times count from one base, the system clock's now when its
// options are made: the archive starts on it (and provisions its contract
// on its day), and every later clock and expiry date derives from it.

#include <catch2/catch.hpp>

#include <set>

#include "archive/common/clock.h"
#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {
namespace {

// The expiry worker polls every 100 ms and schedules a run per minute of
// the archive's clock. The test's base time is the system clock's now, when
// the options are made; UtcIn counts from it.
ArchiveOptions WorkerOptions() {
  ArchiveOptions options = SingleFacilityOptions("IT_MODALITY");
  options.controlled_clock = true;
  options.initial_clock = FormatUtc(std::chrono::system_clock::now());
  options.extra_archive_settings = {"job_poll_milliseconds = 100",
                                    "expiry_interval_seconds = 60", "expiry_batch_size = 2"};
  return options;
}

// The worker runs once at start-up and then only every 10 minutes: the
// test drives expiry with `hokan expire`.
ArchiveOptions CommandOptions() {
  ArchiveOptions options = WorkerOptions();
  options.extra_archive_settings = {"job_poll_milliseconds = 600000"};
  return options;
}

ToolResult ExpireNow(const ArchiveProcess& archive, EnvOverrides extra_environment = {}) {
  return Admin(archive,
               {"expire", "--now", "--storage-root", archive.storage_root().string(), "--by",
                "operator"},
               std::move(extra_environment));
}

// UTC text of the test's base time plus `interval` (e.g. "3 days").
std::string UtcIn(ArchiveProcess& archive, const std::string& interval) {
  return archive.sql().Value(
      "SELECT to_char(($1::timestamptz + $2::interval) AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
      {archive.clock_base(), interval});
}

// Stores one new study of `count` instances; returns its Study Instance UID.
std::string StoreStudy(ArchiveProcess& archive, const fs::path& folder, int count,
                       const std::vector<std::string>& extra = {}) {
  std::vector<std::string> arguments = {"--count", std::to_string(count)};
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  MakeStudy(folder, arguments);
  const ToolResult stored = archive.StoreScu("IT_MODALITY", {"+sd"}, {folder.string()});
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  return archive.sql().Value(
      "SELECT s.study_instance_uid FROM studies s JOIN series e ON e.study_fk = s.id "
      "JOIN instances i ON i.series_fk = e.id ORDER BY i.id DESC LIMIT 1");
}

std::vector<std::string> FilesOf(ArchiveProcess& archive, const std::string& study_uid) {
  std::vector<std::string> paths;
  for (const auto& row : archive.sql().Query(
           "SELECT i.relative_path FROM instances i JOIN series e ON e.id = i.series_fk "
           "JOIN studies s ON s.id = e.study_fk WHERE s.study_instance_uid = $1",
           {study_uid})) {
    paths.push_back(*row[0]);
  }
  return paths;
}

bool AllExist(const ArchiveProcess& archive, const std::vector<std::string>& paths) {
  for (const auto& path : paths) {
    if (!fs::exists(archive.storage_root() / path)) return false;
  }
  return true;
}

bool NoneExist(const ArchiveProcess& archive, const std::vector<std::string>& paths) {
  for (const auto& path : paths) {
    if (fs::exists(archive.storage_root() / path)) return false;
  }
  return true;
}

std::int64_t StudyCount(ArchiveProcess& archive, const std::string& study_uid) {
  return archive.sql().Count("SELECT count(*) FROM studies WHERE study_instance_uid = $1",
                             {study_uid});
}

std::int64_t UsedBytes(ArchiveProcess& archive) {
  return archive.sql().Count("SELECT used_bytes FROM facility_usage");
}

// Bytes of a study's instance rows.
std::int64_t BytesOf(ArchiveProcess& archive, const std::string& study_uid) {
  return archive.sql().Count(
      "SELECT COALESCE(sum(i.size_bytes), 0) FROM instances i "
      "JOIN series e ON e.id = i.series_fk JOIN studies s ON s.id = e.study_fk "
      "WHERE s.study_instance_uid = $1",
      {study_uid});
}

// Files anywhere in the quarantine.
std::size_t QuarantinedFiles(const ArchiveProcess& archive) {
  return ListFilesRecursive(archive.storage_root() / ".quarantine").size();
}

// How many studies C-FIND finds for `study_uid`.
int FindStudies(const ArchiveProcess& archive, const std::string& study_uid) {
  const ToolResult found =
      RunTool({"findscu", "-v", "-S", "-aet", "IT_MODALITY", "-aec", archive.ae_title(), "-k",
               "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=" + study_uid, "localhost",
               std::to_string(archive.port())});
  INFO(found.Describe());
  REQUIRE(found.exit_code == 0);
  return CountOccurrences(found.output, "(Pending)");
}

// The audit trail's expiry rows for a study.
std::int64_t ExpiryAudits(ArchiveProcess& archive, const std::string& study_uid) {
  return archive.sql().Count(
      "SELECT count(*) FROM audit_log WHERE action IN ('study.expire', 'study.recycle') "
      "AND subject = $1",
      {study_uid});
}

}  // namespace

TEST_CASE("hokan expire lists, then deletes, exactly the expired unheld studies", "[expiry]") {
  TempDir data("hokan-it-expiry");
  ArchiveProcess archive(CommandOptions());
  const std::string expired_a = StoreStudy(archive, data.path() / "a", 2);
  const std::string expired_b = StoreStudy(archive, data.path() / "b", 3);
  const std::string held = StoreStudy(archive, data.path() / "held", 1);
  const std::string later = StoreStudy(archive, data.path() / "later", 1);
  const std::string t0 = UtcIn(archive, "0 seconds");
  archive.sql().Execute(
      "UPDATE studies SET expires_at = $1::timestamptz + interval '1 day' "
      "WHERE study_instance_uid IN ($2, $3)",
      {t0, expired_a, held});
  archive.sql().Execute(
      "UPDATE studies SET expires_at = $1::timestamptz + interval '2 days' "
      "WHERE study_instance_uid = $2",
      {t0, expired_b});
  archive.sql().Execute(
      "UPDATE studies SET expires_at = $1::timestamptz + interval '30 days' "
      "WHERE study_instance_uid = $2",
      {t0, later});
  archive.sql().Execute(
      "UPDATE studies SET legal_hold = true, hold_reason = 'litigation' "
      "WHERE study_instance_uid = $1",
      {held});
  const auto files_a = FilesOf(archive, expired_a);
  const auto files_b = FilesOf(archive, expired_b);
  const auto files_held = FilesOf(archive, held);
  const auto files_later = FilesOf(archive, later);
  REQUIRE(files_a.size() == 2);
  REQUIRE(AllExist(archive, files_a));
  const std::int64_t used_before = UsedBytes(archive);
  const std::int64_t deleted_bytes = BytesOf(archive, expired_a) + BytesOf(archive, expired_b);
  // The ingest counters (schema 005) are kept by ingest: usage is the sum.
  REQUIRE(used_before == archive.sql().Count("SELECT sum(size_bytes) FROM instances"));

  // Three days on: a and b are due, the held one and the later one not.
  archive.SetClock(UtcIn(archive, "3 days"));
  const ToolResult listed = Admin(archive, {"expire", "--dry-run"});
  INFO(listed.Describe());
  REQUIRE(listed.exit_code == 0);
  CHECK_THAT(listed.output, Catch::Contains(expired_a) && Catch::Contains(expired_b) &&
                                Catch::Contains("study.expire") &&
                                Catch::Contains("expired at ") &&
                                Catch::Contains("dry run: 2 studies, 5 instances"));
  CHECK_THAT(listed.output, !Catch::Contains(held) && !Catch::Contains(later));
  // Nothing changed.
  CHECK(archive.sql().Count("SELECT count(*) FROM studies") == 4);
  CHECK(AllExist(archive, files_a));
  CHECK(archive.sql().Count("SELECT count(*) FROM expiry_deletions") == 0);
  CHECK(UsedBytes(archive) == used_before);
  // --limit and --facility narrow the list.
  const ToolResult one = Admin(archive, {"expire", "--dry-run", "--limit", "1", "--facility",
                                         "clinic"});
  CHECK_THAT(one.output, Catch::Contains("dry run: 1 studies"));

  const ToolResult expired = ExpireNow(archive);
  INFO(expired.Describe());
  REQUIRE(expired.exit_code == 0);
  CHECK_THAT(expired.output, Catch::Contains("expired 2 studies (5 instances, " +
                                             std::to_string(deleted_bytes) + " bytes)"));
  // Rows and files of a and b are gone; the held and the later study stay.
  CHECK(StudyCount(archive, expired_a) == 0);
  CHECK(StudyCount(archive, expired_b) == 0);
  CHECK(NoneExist(archive, files_a));
  CHECK(NoneExist(archive, files_b));
  CHECK(AllExist(archive, files_held));
  CHECK(AllExist(archive, files_later));
  CHECK(FindStudies(archive, expired_a) == 0);
  CHECK(FindStudies(archive, held) == 1);
  CHECK(FindStudies(archive, later) == 1);
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 2);
  CHECK(archive.sql().Count("SELECT count(*) FROM series WHERE study_fk NOT IN "
                            "(SELECT id FROM studies)") == 0);
  // Audit: one row per deleted study, by the operator, with the reason.
  CHECK(ExpiryAudits(archive, expired_a) == 1);
  CHECK(ExpiryAudits(archive, expired_b) == 1);
  CHECK(ExpiryAudits(archive, held) == 0);
  CHECK(archive.sql().Count("SELECT count(*) FROM audit_log WHERE subject = $1 AND actor = "
                            "'operator' AND reason LIKE 'expired at %' AND detail LIKE "
                            "'2 instances, % bytes deleted'",
                            {expired_a}) == 1);
  // Usage dropped by exactly the deleted bytes, and matches what is left.
  CHECK(UsedBytes(archive) == used_before - deleted_bytes);
  CHECK(archive.sql().Count("SELECT studies FROM facility_usage") == 2);
  CHECK(archive.sql().Count("SELECT instances FROM facility_usage") == 2);
  // Nothing half-done: no quarantine, every deletion finished.
  CHECK(QuarantinedFiles(archive) == 0);
  CHECK(archive.sql().Count("SELECT count(*) FROM expiry_deletions WHERE state <> 'finished'") ==
        0);
  // A second run finds nothing.
  const ToolResult again = ExpireNow(archive);
  CHECK_THAT(again.output, Catch::Contains("expired 0 studies"));

  SECTION("releasing the hold lets the study expire") {
    archive.sql().Execute("UPDATE studies SET legal_hold = false WHERE study_instance_uid = $1",
                          {held});
    REQUIRE(ExpireNow(archive).exit_code == 0);
    CHECK(StudyCount(archive, held) == 0);
    CHECK(NoneExist(archive, files_held));
    CHECK(StudyCount(archive, later) == 1);
  }
}

TEST_CASE("hokan expire refuses bad arguments and changes nothing", "[expiry]") {
  ArchiveProcess archive(CommandOptions());
  for (const auto& arguments : std::vector<std::vector<std::string>>{
           {"expire"},
           {"expire", "--dry-run", "--now"},
           {"expire", "--now"},  // no storage root
           {"expire", "--dry-run", "--facility", "nowhere"},
           {"expire", "--dry-run", "--limit", "0"},
           {"expire", "--dry-run", "--limit", "ten"},
           {"expire", "--now", "--storage-root", "/nonexistent/hokan"},
           {"expire", "--dry-run", "--bogus"}}) {
    const ToolResult result = Admin(archive, arguments);
    INFO(result.Describe());
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.output, Catch::Contains("hokan: expire: "));
  }
  CHECK(archive.sql().Count("SELECT count(*) FROM expiry_deletions") == 0);
}

TEST_CASE("the expiry worker deletes due studies when the clock passes their expiry",
          "[expiry]") {
  TempDir data("hokan-it-expiry");
  ArchiveProcess archive(WorkerOptions());
  std::vector<std::string> due;
  for (int i = 0; i < 3; ++i) {
    due.push_back(StoreStudy(archive, data.path() / std::to_string(i), 1));
  }
  const std::string kept = StoreStudy(archive, data.path() / "kept", 1);
  archive.sql().Execute("UPDATE studies SET expires_at = $1::timestamptz + interval '1 day'",
                        {archive.ClockNow()});
  archive.sql().Execute(
      "UPDATE studies SET expires_at = $2::timestamptz + interval '10 days' "
      "WHERE study_instance_uid = $1",
      {kept, archive.ClockNow()});
  const std::int64_t used_before = UsedBytes(archive);
  const std::int64_t kept_bytes = BytesOf(archive, kept);

  archive.SetClock(UtcIn(archive, "2 days"));
  // Three studies in batches of two: the run goes on until none is due.
  REQUIRE(WaitUntil([&] { return archive.sql().Count("SELECT count(*) FROM studies") == 1; },
                    30s));
  CHECK(StudyCount(archive, kept) == 1);
  CHECK(UsedBytes(archive) == kept_bytes);
  CHECK(used_before > kept_bytes);
  for (const auto& study : due) {
    CHECK(ExpiryAudits(archive, study) == 1);
  }
  CHECK(archive.sql().Count("SELECT count(*) FROM audit_log WHERE action = 'study.expire' "
                            "AND actor = 'hokan-archive@hokan-it'") == 3);
  REQUIRE(WaitUntil(
      [&] {
        return archive.sql().Count("SELECT count(*) FROM jobs WHERE kind = 'expire' AND "
                                   "state = 'done' AND dedupe_key LIKE 'expire:%'") >= 2;
      },
      10s));
  CHECK_THAT(archive.Log(), Catch::Contains("expiry: study.expire of study " + due[0]));
  CHECK(QuarantinedFiles(archive) == 0);
}

TEST_CASE("a deletion interrupted at any step is finished by the next run", "[expiry]") {
  TempDir data("hokan-it-expiry");
  ArchiveOptions options = WorkerOptions();
  options.environment = {{"HOKAN_FAILPOINTS", "expiry-after-quarantine"}};
  ArchiveProcess archive(options);
  const std::string first = StoreStudy(archive, data.path() / "first", 2);
  const std::string second = StoreStudy(archive, data.path() / "second", 2);
  const std::string third = StoreStudy(archive, data.path() / "third", 2);
  const auto files_first = FilesOf(archive, first);
  const auto files_second = FilesOf(archive, second);
  const auto files_third = FilesOf(archive, third);
  archive.sql().Execute("UPDATE studies SET expires_at = $1::timestamptz + interval '1 day'",
                        {archive.ClockNow()});
  archive.sql().Execute(
      "UPDATE studies SET expires_at = $2::timestamptz + interval '3 day' "
      "WHERE study_instance_uid = $1",
      {third, archive.ClockNow()});
  const std::int64_t used_before = UsedBytes(archive);

  // The worker dies with the first study's files in quarantine.
  archive.SetClock(UtcIn(archive, "2 days"));
  REQUIRE(WaitUntil([&] { return !archive.Running(); }, 30s));
  CHECK_THAT(archive.Log(), Catch::Contains("failpoint expiry-after-quarantine reached"));
  CHECK(archive.sql().Count("SELECT count(*) FROM expiry_deletions WHERE state = 'pending'") ==
        1);
  CHECK(QuarantinedFiles(archive) == 2);
  CHECK(archive.sql().Count("SELECT count(*) FROM studies") == 3);  // rows still there
  CHECK(UsedBytes(archive) == used_before);

  // Restarted without the failpoint: the pending job finishes the deletion.
  archive.SetExtraEnvironment({});
  archive.Start();
  REQUIRE(WaitUntil([&] { return archive.sql().Count("SELECT count(*) FROM studies") == 1; },
                    30s));
  CHECK(StudyCount(archive, third) == 1);
  CHECK(NoneExist(archive, files_first));
  CHECK(NoneExist(archive, files_second));
  CHECK(AllExist(archive, files_third));
  CHECK(ExpiryAudits(archive, first) == 1);
  CHECK(ExpiryAudits(archive, second) == 1);
  CHECK(UsedBytes(archive) == BytesOf(archive, third));
  REQUIRE(WaitUntil(
      [&] {
        return archive.sql().Count(
                   "SELECT count(*) FROM expiry_deletions WHERE state <> 'finished'") == 0;
      },
      10s));
  CHECK(QuarantinedFiles(archive) == 0);

  // The same from the command line (the worker stopped, so it does not
  // step in): it dies after the claim, then after the commit; each next
  // run finishes the job, and nothing is counted twice.
  REQUIRE(archive.Stop() == 0);
  archive.SetClock(UtcIn(archive, "4 days"));
  const std::int64_t third_bytes = BytesOf(archive, third);
  const ToolResult after_claim = ExpireNow(archive, {{"HOKAN_FAILPOINTS", "expiry-after-claim"}});
  CHECK(after_claim.exit_code == 137);
  CHECK(archive.sql().Count("SELECT count(*) FROM expiry_deletions WHERE state = 'pending'") ==
        1);
  CHECK(AllExist(archive, files_third));
  const ToolResult after_commit =
      ExpireNow(archive, {{"HOKAN_FAILPOINTS", "expiry-after-commit"}});
  CHECK(after_commit.exit_code == 137);
  CHECK(StudyCount(archive, third) == 0);
  CHECK(QuarantinedFiles(archive) == 2);  // rows gone, quarantine not yet removed
  CHECK(UsedBytes(archive) == 0);
  const ToolResult finished = ExpireNow(archive);
  INFO(finished.Describe());
  CHECK(finished.exit_code == 0);
  CHECK_THAT(finished.output, Catch::Contains("1 leftover(s) of interrupted runs settled"));
  CHECK(QuarantinedFiles(archive) == 0);
  CHECK(NoneExist(archive, files_third));
  CHECK(ExpiryAudits(archive, third) == 1);
  CHECK(third_bytes > 0);
  CHECK(UsedBytes(archive) == 0);
  CHECK(archive.sql().Count("SELECT count(*) FROM expiry_deletions WHERE state <> 'finished'") ==
        0);
}

TEST_CASE("an instance received while its study is being deleted is kept", "[expiry]") {
  TempDir data("hokan-it-expiry");
  ArchiveProcess archive(CommandOptions());
  // A period, so the late instance gets an expiry date (the provisional
  // contract keeps data forever).
  archive.sql().Execute("UPDATE contracts SET default_storage_period = '10y'");
  const std::string study = StoreStudy(archive, data.path() / "study", 2, {"--series-count", "1"});
  const std::string series = archive.sql().Value("SELECT series_instance_uid FROM series");
  const auto old_files = FilesOf(archive, study);
  archive.sql().Execute("UPDATE studies SET expires_at = $1::timestamptz - interval '1 day'",
                        {archive.ClockNow()});

  // The deletion stops with the old files in quarantine ...
  const ToolResult interrupted =
      ExpireNow(archive, {{"HOKAN_FAILPOINTS", "expiry-after-quarantine"}});
  REQUIRE(interrupted.exit_code == 137);
  REQUIRE(NoneExist(archive, old_files));
  // ... and a modality sends one more instance of the same study and series.
  StoreStudy(archive, data.path() / "late", 1, {"--study-uid", study, "--series-uid", series});
  const auto all_files = FilesOf(archive, study);
  REQUIRE(all_files.size() == 3);
  std::string late_file;
  for (const auto& file : all_files) {
    if (std::find(old_files.begin(), old_files.end(), file) == old_files.end()) late_file = file;
  }
  REQUIRE_FALSE(late_file.empty());
  const std::int64_t late_bytes =
      archive.sql().Count("SELECT size_bytes FROM instances WHERE relative_path = $1", {late_file});

  SECTION("its later expiry keeps the whole study: the files go back") {
    // Ingest made the study's expires_at the latest of its instances'.
    REQUIRE(archive.sql().Count("SELECT count(*) FROM studies WHERE expires_at > $1",
                                {archive.ClockNow()}) == 1);
    const ToolResult finished = ExpireNow(archive);
    INFO(finished.Describe());
    CHECK(finished.exit_code == 0);
    CHECK_THAT(finished.output, Catch::Contains("kept: its expiry date moved"));
    CHECK(AllExist(archive, all_files));
    CHECK(FilesOf(archive, study).size() == 3);
    CHECK(ExpiryAudits(archive, study) == 0);
    CHECK(QuarantinedFiles(archive) == 0);
  }
  SECTION("still expired: only the instances claimed before it arrived are deleted") {
    archive.sql().Execute("UPDATE studies SET expires_at = $1::timestamptz - interval '1 day'",
                          {archive.ClockNow()});
    const ToolResult finished = ExpireNow(archive);
    INFO(finished.Describe());
    CHECK(finished.exit_code == 0);
    CHECK_THAT(finished.output, Catch::Contains("1 instances received meanwhile kept"));
    // The study stays with just the new instance, its file and exact counters.
    CHECK(StudyCount(archive, study) == 1);
    CHECK(FilesOf(archive, study) == std::vector<std::string>{late_file});
    CHECK(fs::exists(archive.storage_root() / late_file));
    CHECK(NoneExist(archive, old_files));
    CHECK(archive.sql().Value("SELECT number_of_instances || '/' || number_of_series || '/' || "
                              "size_bytes FROM studies") ==
          "1/1/" + std::to_string(late_bytes));
    CHECK(UsedBytes(archive) == late_bytes);
    CHECK(archive.sql().Count(
              "SELECT count(*) FROM audit_log WHERE subject = $1 AND detail LIKE "
              "'2 instances, % bytes deleted; 1 instance received meanwhile kept'",
              {study}) == 1);
    CHECK(QuarantinedFiles(archive) == 0);
  }
}

TEST_CASE("a facility's data expires when its contract ended plus the grace days",
          "[expiry]") {
  TempDir data("hokan-it-expiry");
  ArchiveOptions options = CommandOptions();
  options.facilities[0].provision_contract = false;
  ArchiveProcess archive(options);
  archive.sql().Execute(
      "INSERT INTO contracts (facility_id, service_period, starts_on, ends_on, backup_timing, "
      "data_kept, quota_bytes, service_class, default_storage_period, expiry_grace_days, "
      "created_by, created_at) "
      "SELECT id, 'annual', ($1::timestamptz AT TIME ZONE 'UTC')::date - 100, "
      "       ($1::timestamptz AT TIME ZONE 'UTC')::date + 10, 'on_receipt', "
      "'all', 1073741824, 'economy', '10y', 30, 'test', $1 FROM facilities",
      {archive.clock_base()});
  const std::string contract = archive.sql().Value("SELECT id FROM contracts");
  const std::string ends_on = archive.sql().Value("SELECT ends_on::text FROM contracts");
  const std::string one = StoreStudy(archive, data.path() / "one", 1);
  const std::string two = StoreStudy(archive, data.path() / "two", 2);
  const std::string held = StoreStudy(archive, data.path() / "held", 1);
  archive.sql().Execute("UPDATE studies SET legal_hold = true WHERE study_instance_uid = $1",
                        {held});

  // Ended, but within the grace period: nothing is due.
  archive.SetClock(UtcIn(archive, "25 days"));
  CHECK_THAT(Admin(archive, {"expire", "--dry-run"}).output,
             Catch::Contains("dry run: 0 studies"));
  // A day past ends_on + 30 days: every unheld study of the facility.
  archive.SetClock(UtcIn(archive, "42 days"));
  const ToolResult listed = Admin(archive, {"expire", "--dry-run"});
  INFO(listed.Describe());
  const std::string reason = "contract " + contract + " ended " + ends_on + " + 30 days grace";
  CHECK_THAT(listed.output, Catch::Contains(one) && Catch::Contains(two) &&
                                Catch::Contains(reason) && !Catch::Contains(held));
  REQUIRE(ExpireNow(archive).exit_code == 0);
  CHECK(StudyCount(archive, one) == 0);
  CHECK(StudyCount(archive, two) == 0);
  CHECK(StudyCount(archive, held) == 1);
  CHECK(archive.sql().Count("SELECT count(*) FROM audit_log WHERE action = 'study.expire' "
                            "AND reason = $1",
                            {reason}) == 2);

  SECTION("a new current contract stops it") {
    archive.sql().Execute("UPDATE studies SET legal_hold = false");
    archive.sql().Execute(
        "INSERT INTO contracts (facility_id, service_period, starts_on, ends_on, backup_timing, "
        "data_kept, quota_bytes, service_class, default_storage_period, created_by, "
        "created_at) "
        "SELECT id, 'annual', ($1::timestamptz AT TIME ZONE 'UTC')::date + 40, "
        "       ($1::timestamptz AT TIME ZONE 'UTC')::date + 400, 'on_receipt', 'all', "
        "1073741824, 'economy', '10y', 'test', $2 FROM facilities",
        {archive.clock_base(), archive.ClockNow()});
    CHECK_THAT(Admin(archive, {"expire", "--dry-run"}).output,
               Catch::Contains("dry run: 0 studies"));
  }
}

TEST_CASE("a facility over quota whose contract recycles loses its oldest unheld studies",
          "[expiry]") {
  TempDir data("hokan-it-expiry");
  ArchiveProcess archive(CommandOptions());
  std::vector<std::string> studies;
  for (int i = 0; i < 4; ++i) {
    studies.push_back(StoreStudy(archive, data.path() / std::to_string(i), 2));
  }
  // Oldest first: 0 (held), 1, 2, 3.
  for (int i = 0; i < 4; ++i) {
    archive.sql().Execute(
        "UPDATE studies "
        "   SET last_received_at = $3::timestamptz - make_interval(days => 10 - $2::int) "
        " WHERE study_instance_uid = $1",
        {studies[i], std::to_string(i), archive.ClockNow()});
  }
  archive.sql().Execute("UPDATE studies SET legal_hold = true WHERE study_instance_uid = $1",
                        {studies[0]});
  const std::int64_t used = UsedBytes(archive);
  const std::int64_t study_bytes = BytesOf(archive, studies[1]);
  const std::int64_t recycled_bytes = study_bytes + BytesOf(archive, studies[2]);
  // Room for two and a half studies: 1 and 2 must go.
  const std::int64_t quota = study_bytes * 5 / 2;
  archive.sql().Execute("UPDATE contracts SET over_quota = 'recycle', quota_bytes = $1",
                        {std::to_string(quota)});

  const ToolResult listed = Admin(archive, {"expire", "--dry-run"});
  INFO(listed.Describe());
  CHECK_THAT(listed.output, Catch::Contains("study.recycle") &&
                                Catch::Contains("facility over quota") &&
                                Catch::Contains("dry run: 2 studies"));
  REQUIRE(ExpireNow(archive).exit_code == 0);
  CHECK(StudyCount(archive, studies[0]) == 1);
  CHECK(StudyCount(archive, studies[1]) == 0);
  CHECK(StudyCount(archive, studies[2]) == 0);
  CHECK(StudyCount(archive, studies[3]) == 1);
  CHECK(UsedBytes(archive) == used - recycled_bytes);
  CHECK(UsedBytes(archive) <= quota);
  CHECK(archive.sql().Count("SELECT count(*) FROM audit_log WHERE action = 'study.recycle' "
                            "AND reason LIKE 'facility over quota % > %'") == 2);
  CHECK_THAT(ExpireNow(archive).output, Catch::Contains("expired 0 studies"));
}

TEST_CASE("two nodes and two operators expiring at once delete each study once",
          "[expiry]") {
  TempDir data("hokan-it-expiry");
  ArchiveProcess first(WorkerOptions());
  ArchiveOptions second_options = WorkerOptions();
  second_options.initial_clock = first.clock_base();  // one base for both nodes
  second_options.shared_database_url = first.database_url();
  second_options.shared_storage_root = first.storage_root().string();
  second_options.extra_archive_settings.push_back("node_name = hokan-it-second");
  ArchiveProcess second(second_options);
  std::vector<std::string> studies;
  for (int i = 0; i < 8; ++i) {
    studies.push_back(StoreStudy(first, data.path() / std::to_string(i), 1));
  }
  first.sql().Execute("UPDATE studies SET expires_at = $1::timestamptz + interval '1 day'",
                      {first.ClockNow()});
  const std::int64_t used_before = UsedBytes(first);
  const std::int64_t all_bytes = first.sql().Count("SELECT sum(size_bytes) FROM instances");
  REQUIRE(used_before == all_bytes);

  const std::string later = UtcIn(first, "2 days");
  first.SetClock(later);
  second.SetClock(later);
  // Both workers and two operators race for the same studies.
  std::vector<std::unique_ptr<BackgroundProcess>> operators;
  for (int i = 0; i < 2; ++i) {
    EnvOverrides environment = first.Environment();
    operators.push_back(std::make_unique<BackgroundProcess>(
        std::vector<std::string>{HOKAN_ADMIN_BINARY, "--database-url", first.database_url(),
                                 "expire", "--now", "--storage-root",
                                 first.storage_root().string(), "--by",
                                 "operator" + std::to_string(i)},
        data.path() / ("operator" + std::to_string(i) + ".log"), data.path(), environment));
  }
  REQUIRE(WaitUntil([&] { return first.sql().Count("SELECT count(*) FROM studies") == 0; },
                    60s));
  for (auto& process : operators) CHECK(process->Stop(0, 60s) == 0);
  for (const auto& study : studies) {
    CHECK(ExpiryAudits(first, study) == 1);
  }
  CHECK(first.sql().Count("SELECT count(*) FROM expiry_deletions WHERE instances_deleted > 0") ==
        8);
  CHECK(UsedBytes(first) == 0);
  CHECK(first.sql().Count("SELECT studies + instances FROM facility_usage") == 0);
  CHECK(ListFilesRecursive(first.storage_root() / "1").empty());
  REQUIRE(WaitUntil(
      [&] {
        return first.sql().Count(
                   "SELECT count(*) FROM expiry_deletions WHERE state <> 'finished'") == 0;
      },
      10s));
  CHECK(QuarantinedFiles(first) == 0);
  // One expiry job per bucket, though two nodes scheduled it.
  CHECK(first.sql().Count("SELECT count(*) FROM jobs WHERE dedupe_key = $1",
                          {"expire:" + later.substr(0, 17) + "00Z"}) == 1);
}

}  // namespace hokan::integration
