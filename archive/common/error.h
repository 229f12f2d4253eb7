#pragma once

#include <stdexcept>
#include <string>

namespace hokan {

// Why an operation failed, in the terms the protocol edge needs to choose a
// status: transient resource trouble (retry later) versus bad input (do not
// retry) versus a broken configuration.
enum class ErrorCode {
  kConfiguration,     // a configuration key is missing or has a bad value
  kInvalidInput,      // the data or request is malformed or violates a rule
  kStorage,           // the file system failed (ENOSPC, EIO, permissions …)
  kDatabase,          // PostgreSQL failed or is unreachable
  kCommitInDoubt,     // the connection broke during COMMIT: it may or may not have happened
  kInternal,          // a broken invariant inside hokan
};

// The one exception type hokan throws. Its message names the object and the
// cause, e.g. "instance 1.2.3: rename into storage failed: No space left".
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace hokan
