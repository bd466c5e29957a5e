// attachctl's one-line error messages, "attachctl: <what failed>: <why>".
// Pure except for one access(2) of the socket path; any thread.

#ifndef ATTACHD_CLIENT_RPC_ERROR_H_
#define ATTACHD_CLIENT_RPC_ERROR_H_

#include <string>

#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"

namespace attachd::client {

// "attachctl: <what>: <why>", without a trailing '\n'.
std::string ErrorLine(absl::string_view what, absl::string_view why);

// The line for a daemon that cannot be reached at `socket_path`:
// "attachctl: cannot connect to attachd at <path>: is the daemon running?",
// or "...: permission denied" when the socket exists but the caller may not
// connect to it (access(2) answers EACCES).
std::string ConnectErrorLine(absl::string_view socket_path);

// The line for a failed call.  UNAVAILABLE before the daemon answered
// anything means the connection failed and yields ConnectErrorLine();
// otherwise the daemon's message (or, when it is empty, the code's name)
// follows `what`.
std::string RpcErrorLine(absl::string_view what, const grpc::Status& status,
                         absl::string_view socket_path,
                         bool daemon_answered = false);

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_RPC_ERROR_H_
