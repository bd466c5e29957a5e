#include "daemon/grpc_status.h"

#include <optional>
#include <string>

#include "attachd/v1/attachd.pb.h"
#include "daemon/worker.h"

namespace attachd::daemon {
namespace {

v1::ExecError::Step ToApiStep(WorkerStep step) {
  switch (step) {
    case WorkerStep::kCgroup:
    case WorkerStep::kNamespaces:
    case WorkerStep::kFork:
    case WorkerStep::kStdio:
      return v1::ExecError::STEP_ATTACH;
    case WorkerStep::kCwd:
      return v1::ExecError::STEP_CWD;
    case WorkerStep::kCredentials:
      return v1::ExecError::STEP_CREDENTIALS;
    case WorkerStep::kExec:
      return v1::ExecError::STEP_EXEC;
    case WorkerStep::kJob:
      break;
  }
  return v1::ExecError::STEP_UNSPECIFIED;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) {
    return grpc::Status::OK;
  }
  auto code = static_cast<grpc::StatusCode>(status.code());
  std::string message(status.message());

  std::optional<WorkerFailure> failure = GetWorkerFailure(status);
  if (!failure.has_value()) {
    return grpc::Status(code, message);
  }
  v1::ExecError details;
  details.set_step(ToApiStep(failure->step));
  details.set_errno_value(failure->errno_value);
  return grpc::Status(code, message, details.SerializeAsString());
}

}  // namespace attachd::daemon
