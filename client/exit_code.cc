#include "client/exit_code.h"

#include <errno.h>

namespace attachd::client {
namespace {

using ::attachd::v1::ExecError;
using ::attachd::v1::ExitStatus;

int ExitCodeForExitStatus(const ExitStatus& exit) {
  if (exit.timed_out()) {
    return kExitTimedOut;
  }
  switch (exit.status_case()) {
    case ExitStatus::kCode:
      if (exit.code() >= 0 && exit.code() <= 255) {
        return exit.code();
      }
      return kExitFailure;
    case ExitStatus::kSignal:
      if (exit.signal() >= 1 && exit.signal() <= 127) {
        return kExitSignalBase + exit.signal();
      }
      return kExitFailure;
    case ExitStatus::STATUS_NOT_SET:
      break;
  }
  return kExitFailure;
}

}  // namespace

std::optional<ExecError> ExecErrorOf(const grpc::Status& status) {
  if (status.ok() || status.error_details().empty()) {
    return std::nullopt;
  }

  ExecError error;
  if (!error.ParseFromString(status.error_details())) {
    return std::nullopt;
  }
  bool has_unknown_fields =
      !error.GetReflection()->GetUnknownFields(error).empty();
  if (has_unknown_fields || !ExecError::Step_IsValid(error.step()) ||
      error.step() == ExecError::STEP_UNSPECIFIED) {
    return std::nullopt;
  }
  return error;
}

int ExitCodeFor(const ExecResult& result) {
  if (result.exit.has_value()) {
    return ExitCodeForExitStatus(*result.exit);
  }

  if (result.interrupt_signal != 0) {
    return kExitSignalBase + result.interrupt_signal;
  }

  std::optional<ExecError> error = ExecErrorOf(result.status);
  if (!error.has_value()) {
    return kExitFailure;
  }
  if (error->step() == ExecError::STEP_EXEC && error->errno_value() == ENOENT) {
    return kExitProgramNotFound;
  }
  return kExitCannotExecute;
}

}  // namespace attachd::client
