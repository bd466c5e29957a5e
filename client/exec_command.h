// `attachctl exec`: builds the ExecStart from the command line and runs it
// through an ExecSession, cancelling the call on SIGINT, SIGTERM or SIGHUP.
//
// With -t (ExecStart.tty) the command runs on a pseudo-terminal of the
// daemon's whose size follows the local terminal's (see terminal.h), and
// with -it the local terminal is in raw mode while it runs, as with
// `docker exec -it`:
//
//   -t alone     the command gets a terminal of the local size (24x80 when
//                neither stdout nor stdin is a terminal); the local
//                terminal stays as it is, so Ctrl-C interrupts attachctl,
//                which cancels the call.
//   -it          stdin must be a terminal, or attachctl refuses, as docker
//                does ("the input device is not a TTY", status 1).  It is
//                put in raw mode: every key, Ctrl-C (0x03) included, goes
//                to the command as input; the command's output is written
//                to stdout untranslated.  The termios is restored on every
//                way out but an uncatchable signal (see RawTerminalMode).
//
// In both, SIGWINCH sends the new size as a `resize` message, and the
// command's environment gets TERM=xterm unless --env gives a TERM or
// --inherit-env takes the container's.

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

// The TERM a command on a terminal gets unless told otherwise, as with
// `docker exec -t`.
inline constexpr char kDefaultTerm[] = "TERM=xterm";

struct ExecArgs {
  std::string container;
  // The command and its arguments, passed on byte for byte.
  std::vector<std::string> command;
  // --env arguments, as given.
  std::vector<std::string> env;
  bool interactive = false;
  bool tty = false;
  bool detach = false;
  bool elevated = false;
  bool inherit_env = false;
  std::optional<std::string> cwd;
  std::optional<std::string> user;
  std::optional<std::string> timeout;
};

// Builds the ExecStart for `args`, resolving "KEY"-only --env arguments
// through `lookup`.  The window size is left for RunExec() to measure.
// INVALID_ARGUMENT (a usage error) for an empty command, a bad --user,
// --env or --timeout, and for -d with -i or -t.  Pure; any thread.
absl::StatusOr<attachd::v1::ExecStart> BuildExecStart(
    const ExecArgs& args, const EnvironmentLookup& lookup);

// Runs `start` on `stub` with `io` and returns attachctl's exit status (see
// exit_code.h).  With start.tty(), measures the local terminal for
// ExecStart.window_size and handles it as described above.  With
// start.detach(), writes the command's pid (Started.pid) and "\n" to
// `io.stdout_fd` and returns 0 once the call has ended well.
//
// A failure is reported as one line on `io.stderr_fd` ("attachctl: exec in
// <container>: <why>"); a command killed by its timeout as "attachctl:
// command timed out after <timeout>" (status 124); an interruption by a
// termination signal, which cancels the call so that the daemon kills the
// command, not at all.  Lines are written after the terminal is restored.
//
// Call from the main thread: it installs a SignalWatcher for the length of
// the call.
int RunExec(attachd::v1::ExecService::StubInterface& stub,
            const attachd::v1::ExecStart& start, const ExecIo& io,
            const std::string& socket_path);

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_EXEC_COMMAND_H_
