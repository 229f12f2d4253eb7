// SpoolQueue (scu/spool_queue.h) on a real SQLite file in a temporary
// folder: transitions, Due ordering, dedupe, crash recovery, Status; and
// the modalities' commitment requests kept in the same file.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>

#include "archive/common/error.h"
#include "scu/modality_commitments.h"
#include "scu/spool_queue.h"

namespace hokan::relay {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class TempFolder {
 public:
  TempFolder() {
    std::random_device random;
    path_ = fs::temp_directory_path() /
            ("hokan-unit-queue-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
    fs::create_directories(path_);
  }
  ~TempFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

const TimePoint kT0 = *ParseUtc("2026-11-22T10:00:00Z");

SpoolItem Item(const std::string& sop, const std::string& study, TimePoint received,
               const std::string& sha = "aa") {
  SpoolItem item;
  item.sop_instance_uid = sop;
  item.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
  item.transfer_syntax_uid = "1.2.840.10008.1.2.1";
  item.study_instance_uid = study;
  item.patient_id = "P1";
  item.modality = "CT";
  item.source = "store:CT1";
  item.file = "/spool/files/" + study + "/" + sop + "." + sha + ".dcm";
  item.size_bytes = 100;
  item.sha256_hex = sha;
  item.received_at = received;
  return item;
}

std::vector<std::int64_t> Ids(const std::vector<SpoolItem>& items) {
  std::vector<std::int64_t> ids;
  for (const auto& item : items) ids.push_back(item.id);
  return ids;
}

}  // namespace

TEST_CASE("spool queue: Due is oldest first and honours next_attempt_at", "[relay][spool-queue]") {
  TempFolder folder;
  SpoolQueue queue(folder.path() / "queue.sqlite");
  const auto late = queue.Add(Item("1.3", "9.1", kT0 + 2min));
  const auto early = queue.Add(Item("1.1", "9.1", kT0));
  const auto middle = queue.Add(Item("1.2", "9.1", kT0 + 1min));
  CHECK(Ids(queue.Due(kT0 + 1h, 10)) == std::vector<std::int64_t>{early, middle, late});
  CHECK(Ids(queue.Due(kT0 + 1h, 2)) == std::vector<std::int64_t>{early, middle});

  queue.MarkSending({early});
  queue.Retry(early, kT0 + 2h, "association refused");
  CHECK(Ids(queue.Due(kT0 + 1h, 10)) == std::vector<std::int64_t>{middle, late});
  CHECK(Ids(queue.Due(kT0 + 2h, 10)) == std::vector<std::int64_t>{early, middle, late});
  const auto retried = queue.InState(ItemState::kSpooled, 10);
  CHECK(retried.front().attempts == 1);
  CHECK(retried.front().last_error == "association refused");
}

TEST_CASE("spool queue: the full path spooled, sending, sent, committed, purged",
          "[relay][spool-queue]") {
  TempFolder folder;
  SpoolQueue queue(folder.path() / "queue.sqlite");
  const auto a = queue.Add(Item("1.1", "9.1", kT0));
  const auto b = queue.Add(Item("1.2", "9.1", kT0));
  queue.MarkSending({a, b});
  CHECK(queue.Due(kT0 + 1h, 10).empty());
  queue.MarkSent(a, "2.25.77");
  queue.MarkSent(b, "2.25.77");
  queue.MarkCommitted("2.25.77", {"1.1"}, kT0 + 5min);
  // An unknown transaction commits nothing.
  queue.MarkCommitted("2.25.78", {"1.2"}, kT0 + 5min);
  const auto committed = queue.InState(ItemState::kCommitted, 10);
  REQUIRE(committed.size() == 1);
  CHECK(committed[0].id == a);
  CHECK(committed[0].commitment_transaction_uid == std::optional<std::string>("2.25.77"));
  CHECK(committed[0].committed_at == std::optional<TimePoint>(kT0 + 5min));
  CHECK(queue.InState(ItemState::kSent, 10).size() == 1);
  queue.MarkPurged(a);
  const QueueStatus status = queue.Status();
  CHECK(status.sent == 1);
  CHECK(status.purged == 1);
  CHECK(status.committed == 0);
  CHECK(status.spool_bytes == 100);  // b's file; a's is gone
  CHECK(status.last_success.has_value());
  CHECK_FALSE(status.oldest_unsent.has_value());
}

TEST_CASE("spool queue: a batch is marked sent in one call", "[relay][spool-queue]") {
  TempFolder folder;
  SpoolQueue queue(folder.path() / "queue.sqlite");
  const auto a = queue.Add(Item("1.1", "9.1", kT0));
  const auto b = queue.Add(Item("1.2", "9.1", kT0));
  const auto c = queue.Add(Item("1.3", "9.1", kT0));
  queue.MarkSending({a, b, c});
  queue.MarkSent(std::vector<std::int64_t>{a, c}, "2.25.90");
  queue.MarkSent(std::vector<std::int64_t>{}, "2.25.91");  // nothing to record
  const auto sent = queue.InState(ItemState::kSent, 10);
  REQUIRE(sent.size() == 2);
  for (const auto& item : sent) {
    CHECK((item.id == a || item.id == c));
    CHECK(item.commitment_transaction_uid == std::optional<std::string>("2.25.90"));
  }
  CHECK(queue.InState(ItemState::kSending, 10).size() == 1);
  // After a restart the unrecorded one is sent again.
  CHECK(queue.RecoverInterrupted() == 1);
  CHECK(queue.Due(kT0 + 1h, 10).size() == 1);
}

TEST_CASE("spool queue: dedupe by SOP Instance UID and checksum", "[relay][spool-queue]") {
  TempFolder folder;
  SpoolQueue queue(folder.path() / "queue.sqlite");
  const auto first = queue.Add(Item("1.1", "9.1", kT0, "aa"));
  CHECK(queue.Add(Item("1.1", "9.1", kT0 + 1min, "aa")) == first);
  CHECK(queue.InState(ItemState::kSpooled, 10).size() == 1);

  SECTION("another checksum replaces an unsent item") {
    CHECK(queue.Add(Item("1.1", "9.1", kT0 + 1min, "bb")) == first);
    const auto items = queue.InState(ItemState::kSpooled, 10);
    REQUIRE(items.size() == 1);
    CHECK(items[0].sha256_hex == "bb");
  }
  SECTION("another checksum after sending is a new item") {
    queue.MarkSending({first});
    queue.MarkSent(first, "2.25.1");
    const auto second = queue.Add(Item("1.1", "9.1", kT0 + 1min, "bb"));
    CHECK(second != first);
    CHECK(queue.InState(ItemState::kSpooled, 10).size() == 1);
    CHECK(queue.InState(ItemState::kSent, 10).size() == 1);
  }
}

TEST_CASE("spool queue: RecoverInterrupted survives reopening", "[relay][spool-queue]") {
  TempFolder folder;
  const fs::path file = folder.path() / "queue.sqlite";
  std::int64_t a = 0;
  {
    SpoolQueue queue(file);
    a = queue.Add(Item("1.1", "9.1", kT0));
    queue.Add(Item("1.2", "9.1", kT0));
    queue.MarkSending({a});
  }
  SpoolQueue reopened(file);
  CHECK(reopened.InState(ItemState::kSending, 10).size() == 1);
  CHECK(reopened.RecoverInterrupted() == 1);
  CHECK(reopened.RecoverInterrupted() == 0);
  CHECK(reopened.Due(kT0, 10).size() == 2);
}

TEST_CASE("spool queue: parked items and QuietStudies in Status", "[relay][spool-queue]") {
  TempFolder folder;
  SpoolQueue queue(folder.path() / "queue.sqlite");
  const auto refused = queue.Add(Item("1.1", "9.1", kT0));
  queue.Add(Item("2.1", "9.2", kT0 + 10min));
  queue.Add(Item("2.2", "9.2", kT0 + 20min));
  queue.MarkSending({refused});
  queue.Park(refused, "archive answered 0x0124: refused by rule");
  CHECK(queue.Due(kT0 + 1h, 10).size() == 2);
  CHECK(queue.QuietStudies(kT0 + 15min).empty());
  CHECK(queue.QuietStudies(kT0 + 21min) == std::vector<std::string>{"9.2"});

  const QueueStatus status = queue.Status();
  CHECK(status.spooled == 2);
  CHECK(status.parked == 1);
  REQUIRE(status.parked_items.size() == 1);
  CHECK(status.parked_items[0].last_error == "archive answered 0x0124: refused by rule");
  CHECK(status.oldest_unsent == std::optional<TimePoint>(kT0 + 10min));
  CHECK(status.unsent_bytes == 200);
}

TEST_CASE("spool queue: an unusable database file is a kStorage error", "[relay][spool-queue]") {
  TempFolder folder;
  fs::create_directories(folder.path() / "queue.sqlite");  // a folder, not a file
  try {
    SpoolQueue queue(folder.path() / "queue.sqlite");
    FAIL("opened a folder as the queue");
  } catch (const Error& error) {
    CHECK(error.code() == ErrorCode::kStorage);
    CHECK(std::string(error.what()).find("queue.sqlite") != std::string::npos);
  }
}

TEST_CASE("spool queue: StatesOf answers the newest entry of each known UID",
          "[relay][spool-queue]") {
  TempFolder folder;
  SpoolQueue queue(folder.path() / "queue.sqlite");
  const std::int64_t first = queue.Add(Item("1.1", "9.1", kT0));
  queue.Add(Item("1.2", "9.1", kT0));
  queue.MarkSending({first});
  queue.MarkSent(first, "7.1");
  queue.MarkCommitted("7.1", {"1.1"}, kT0 + 1s);
  const auto states = queue.StatesOf({"1.1", "1.2", "1.3"});
  REQUIRE(states.size() == 2);
  CHECK(states.at("1.1") == ItemState::kCommitted);
  CHECK(states.at("1.2") == ItemState::kSpooled);
  CHECK(states.count("1.3") == 0);
}

TEST_CASE("modality commitment requests survive reopening; a repeated UID replaces",
          "[relay][spool-queue]") {
  TempFolder folder;
  const fs::path file = folder.path() / "queue.sqlite";
  SpoolQueue queue(file);  // the queue and the requests share the file
  {
    ModalityRequestStore store(file);
    ModalityRequest request;
    request.transaction_uid = "5.1";
    request.calling_ae = "CT1";
    request.items = {{"1.2.840.10008.5.1.4.1.1.2", "1.1"}, {"1.2.840.10008.5.1.4.1.1.2", "1.2"}};
    request.received_at = kT0;
    store.Add(request);
    request.items.pop_back();  // the modality asks again for one instance
    store.Add(request);
    ModalityRequest later = request;
    later.transaction_uid = "5.2";
    later.received_at = kT0 + 1s;
    store.Add(later);
  }
  ModalityRequestStore store(file);
  auto due = store.Due(kT0 + 1s);
  REQUIRE(due.size() == 2);
  CHECK(due[0].transaction_uid == "5.1");
  CHECK(due[0].calling_ae == "CT1");
  REQUIRE(due[0].items.size() == 1);
  CHECK(due[0].items[0].sop_instance_uid == "1.1");
  CHECK(due[1].transaction_uid == "5.2");

  store.RetryAt("5.1", kT0 + 60s, "connection refused");
  store.MarkReported("5.2", kT0 + 2s);
  CHECK(store.Due(kT0 + 59s).empty());
  const ModalityRequestsWaiting waiting = store.Waiting();
  CHECK(waiting.count == 1);
  CHECK(waiting.oldest == kT0);
  CHECK(waiting.last_error == "connection refused");
  due = store.Due(kT0 + 60s);
  REQUIRE(due.size() == 1);
  CHECK(due[0].attempts == 1);
}

}  // namespace hokan::relay
