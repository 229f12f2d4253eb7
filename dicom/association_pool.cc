#include "dcmtk/config/osconfig.h"  // must come first

#include "dicom/association_pool.h"

#include "dcmtk/dcmdata/dcobject.h"
#include "dcmtk/dcmnet/cond.h"
#include "dcmtk/dcmnet/dul.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "archive/common/error.h"
#include "archive/common/log.h"

namespace hokan::dicom {
namespace {

std::string Trimmed(const char* text) {
  std::string value(text ? text : "");
  const auto last = value.find_last_not_of(' ');
  value.erase(last == std::string::npos ? 0 : last + 1);
  const auto first = value.find_first_not_of(' ');
  return first == std::string::npos ? std::string() : value.substr(first);
}

}  // namespace

AssociationParties PartiesOf(const T_ASC_Association& association) {
  const DUL_ASSOCIATESERVICEPARAMETERS& request = association.params->DULparams;
  return {Trimmed(request.callingAPTitle), Trimmed(request.calledAPTitle),
          Trimmed(request.callingPresentationAddress)};
}

void RejectAssociation(T_ASC_Association* association, T_ASC_RejectParametersResult result,
                       T_ASC_RejectParametersSource source, T_ASC_RejectParametersReason reason) {
  T_ASC_RejectParameters parameters;
  parameters.result = result;
  parameters.source = source;
  parameters.reason = reason;
  ASC_rejectAssociation(association, &parameters);
}

void DropAndDestroyAssociation(T_ASC_Association* association) {
  if (!association) return;
  ASC_dropAssociation(association);
  ASC_destroyAssociation(&association);
}

AssociationPool::AssociationPool(AssociationPoolOptions options, ServeAssociationFunction serve)
    : options_(options), serve_(std::move(serve)) {}

AssociationPool::~AssociationPool() {
  Stop();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (T_ASC_Association* association : waiting_) DropAndDestroyAssociation(association);
    waiting_.clear();
  }
  work_available_.notify_all();
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  if (network_) ASC_dropNetwork(&network_);
}

void AssociationPool::Open() {
  // DCMTK reads TCP_NODELAY when it opens each association socket; without
  // it Debian's 3.6.7 leaves Nagle on, which stalls every response by ~40 ms.
  ::setenv("TCP_NODELAY", "1", 1);
  dcmDisableGethostbyaddr.set(OFTrue);
  dcmEnableAutomaticInputDataCorrection.set(OFFalse);

  // The accepting thread reads each association request itself, so a peer
  // that connects and stays silent holds up others for at most this long.
  constexpr int kRequestReadLimitSeconds = 10;
  const OFCondition opened = ASC_initializeNetwork(
      NET_ACCEPTOR, options_.port,
      std::min(options_.acse_timeout_seconds, kRequestReadLimitSeconds), &network_);
  if (opened.bad()) {
    network_ = nullptr;
    throw Error(ErrorCode::kConfiguration,
                fmt::format("cannot listen on port {}: {}", options_.port, opened.text()));
  }
  idle_workers_ = options_.workers;
  for (int i = 0; i < options_.workers; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

void AssociationPool::Serve() {
  while (!stopping_) AcceptOne();
  Log(LogLevel::kInfo, "stopped accepting associations; waiting for running ones to end");
}

void AssociationPool::Stop() {
  stopping_ = true;
  work_available_.notify_all();
}

void AssociationPool::AcceptOne() {
  T_ASC_Association* association = nullptr;
  const OFCondition received = ASC_receiveAssociation(
      network_, &association, options_.max_pdu_bytes, nullptr, nullptr, OFFalse, DUL_NOBLOCK,
      1 /* second: how often Stop() is noticed */);
  if (received == DUL_NOASSOCIATIONREQUEST) {
    ASC_destroyAssociation(&association);
    return;
  }
  if (received.bad()) {
    const std::string peer = association && association->params
                                 ? PartiesOf(*association).peer
                                 : std::string("?");
    Log(LogLevel::kWarn, "connection from {} dropped: not a valid association request: {}", peer,
        received.text());
    DropAndDestroyAssociation(association);
    return;
  }
  bool queued = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (idle_workers_ > 0) {
      --idle_workers_;
      waiting_.push_back(association);
      queued = true;
    }
  }
  if (queued) {
    work_available_.notify_one();
    return;
  }
  Log(LogLevel::kWarn,
      "association from {} rejected: all {} association slots are busy (local limit exceeded)",
      PartiesOf(*association).calling_ae, options_.workers);
  RejectAssociation(association, ASC_RESULT_REJECTEDTRANSIENT,
                    ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED,
                    ASC_REASON_SP_PRES_LOCALLIMITEXCEEDED);
  DropAndDestroyAssociation(association);
}

void AssociationPool::WorkerLoop() {
  for (;;) {
    T_ASC_Association* association = nullptr;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_available_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
      if (waiting_.empty()) return;  // stopping
      association = waiting_.front();
      waiting_.pop_front();
    }
    serve_(association);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++idle_workers_;
    }
  }
}

}  // namespace hokan::dicom
