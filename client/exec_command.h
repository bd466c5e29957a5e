// `attachctl exec`: builds the ExecStart from the command line and runs it
// through an ExecSession, cancelling the call on SIGINT or SIGTERM.

#ifndef ATTACHD_CLIENT_EXEC_COMMAND_H_
#define ATTACHD_CLIENT_EXEC_COMMAND_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attachd/v1/attachd.grpc.pb.h"
#include "client/exec_session.h"
#include "client/flag_parsing.h"

namespace attachd::client {

struct ExecArgs {
  std::string container;
  // The command and its arguments, passed on byte for byte.
  std::vector<std::string> command;
  // --env arguments, as given.
  std::vector<std::string> env;
  bool interactive = false;
  bool inherit_env = false;
  std::optional<std::string> cwd;
  std::optional<std::string> user;
};

// Builds the ExecStart for `args`, resolving "KEY"-only --env arguments
// through `lookup`.  INVALID_ARGUMENT (a usage error) for an empty command,
// a bad --user or a bad --env.  Pure; any thread.
absl::StatusOr<attachd::v1::ExecStart> BuildExecStart(
    const ExecArgs& args, const EnvironmentLookup& lookup);

// Runs `start` on `stub` with `io` and returns attachctl's exit status (see
// exit_code.h).  A failure is reported as one line on `io.stderr_fd`
// ("attachctl: exec in <container>: <why>"); an interruption by SIGINT or
// SIGTERM, which cancels the call so that the daemon kills the command, is
// not.  Call from the main thread: it installs a TerminationSignalWatcher
// for the length of the call.
int RunExec(attachd::v1::ExecService::StubInterface& stub,
            const attachd::v1::ExecStart& start, const ExecIo& io,
            const std::string& socket_path);

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_EXEC_COMMAND_H_
