// The exit status of `attachctl exec`, chosen the way shells and
// `docker exec` choose theirs so that scripts can tell the command's own
// failure from attachctl's:
//
//   0-255   the command's exit code;
//   124     the daemon killed the command because its --timeout passed
//           (ExitStatus.timed_out), as timeout(1) reports it;
//   128+N   the command was killed by signal N, or attachctl itself was
//           interrupted by signal N (SIGHUP: 129, SIGINT: 130, SIGTERM:
//           143) and cancelled the call before the command ended;
//   127     the program was not found (ExecError STEP_EXEC, ENOENT);
//   126     the command could not be started for another reason (any other
//           ExecError);
//   1       the call failed without starting the command: no such
//           container, the container exited, the daemon is unreachable.
//
// Pure functions; any thread.

#ifndef ATTACHD_CLIENT_EXIT_CODE_H_
#define ATTACHD_CLIENT_EXIT_CODE_H_

#include <optional>

#include "attachd/v1/attachd.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace attachd::client {

inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitTimedOut = 124;
inline constexpr int kExitCannotExecute = 126;
inline constexpr int kExitProgramNotFound = 127;
inline constexpr int kExitSignalBase = 128;

// What attachctl learned from one Exec call.
struct ExecResult {
  // The `started` message, if the daemon sent one.
  std::optional<attachd::v1::Started> started;
  // The `exit` message, if the daemon sent one.
  std::optional<attachd::v1::ExitStatus> exit;
  // The call's final status (from Finish()).
  grpc::Status status;
  // Whether any message arrived: UNAVAILABLE without one means the daemon
  // could not be reached at all.
  bool daemon_answered = false;
  // SIGINT, SIGTERM or SIGHUP when attachctl cancelled the call because it
  // received that signal; 0 otherwise.
  int interrupt_signal = 0;
};

// Returns the ExecError carried in `status.error_details()`, or nullopt.
// The details must decode as an ExecError exactly: bytes with unknown
// fields or an unknown step are not one (protobuf parsing alone accepts
// almost anything, such as an encoded google.rpc.Status).
std::optional<attachd::v1::ExecError> ExecErrorOf(const grpc::Status& status);

// Returns attachctl's exit status for `result`, as described above.  An
// `exit` message, when present, decides (timed_out first); an exit code
// outside 0-255 or a signal outside 1-127 is a daemon bug and yields 1.
int ExitCodeFor(const ExecResult& result);

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_EXIT_CODE_H_
