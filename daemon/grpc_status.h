// The one place where an absl::Status becomes a grpc::Status.  The codes
// are the same numbers in both; a worker failure (worker.h) also travels
// as an attachd.v1.ExecError in the status's error details, so that a
// client can tell which step failed and with which errno.

#ifndef ATTACHD_DAEMON_GRPC_STATUS_H_
#define ATTACHD_DAEMON_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace attachd::daemon {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_GRPC_STATUS_H_
