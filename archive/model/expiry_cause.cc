#include "archive/model/expiry_cause.h"

namespace hokan::archive {

std::string CauseName(ExpiryCause cause) {
  switch (cause) {
    case ExpiryCause::kExpired:
      return "expired";
    case ExpiryCause::kContractEnded:
      return "contract_ended";
    case ExpiryCause::kOverQuota:
      return "over_quota";
  }
  return "expired";
}

std::optional<ExpiryCause> ParseCause(const std::string& name) {
  for (ExpiryCause cause :
       {ExpiryCause::kExpired, ExpiryCause::kContractEnded, ExpiryCause::kOverQuota}) {
    if (CauseName(cause) == name) return cause;
  }
  return std::nullopt;
}

std::string AuditAction(ExpiryCause cause) {
  return cause == ExpiryCause::kOverQuota ? "study.recycle" : "study.expire";
}

}  // namespace hokan::archive
