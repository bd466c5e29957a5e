// Early-return helpers for absl::Status, which Debian's Abseil (20220623)
// does not ship.
//
//   ATTACHD_RETURN_IF_ERROR(DoThing());
//   ATTACHD_ASSIGN_OR_RETURN(UniqueFd fd, OpenThing());
//
// Both evaluate their argument once and return its status unchanged.

#ifndef ATTACHD_DAEMON_STATUS_MACROS_H_
#define ATTACHD_DAEMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ATTACHD_RETURN_IF_ERROR(expr)        \
  do {                                       \
    ::absl::Status attachd_status_ = (expr); \
    if (!attachd_status_.ok()) {             \
      return attachd_status_;                \
    }                                        \
  } while (false)

#define ATTACHD_STATUS_CONCAT_INNER_(a, b) a##b
#define ATTACHD_STATUS_CONCAT_(a, b) ATTACHD_STATUS_CONCAT_INNER_(a, b)

#define ATTACHD_ASSIGN_OR_RETURN(lhs, expr) \
  ATTACHD_ASSIGN_OR_RETURN_IMPL_(           \
      ATTACHD_STATUS_CONCAT_(attachd_statusor_, __LINE__), lhs, expr)

#define ATTACHD_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) {                                     \
    return std::move(statusor).status();                    \
  }                                                         \
  lhs = std::move(statusor).value()

#endif  // ATTACHD_DAEMON_STATUS_MACROS_H_
