#include "client/exec_command.h"

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/exit_code.h"
#include "client/fd_io.h"
#include "client/rpc_error.h"
#include "client/signal_watch.h"

namespace attachd::client {
namespace {

using ::attachd::v1::ExecStart;

absl::Status AddEnvironment(const ExecArgs& args,
                            const EnvironmentLookup& lookup, ExecStart* start) {
  for (const std::string& argument : args.env) {
    absl::StatusOr<std::optional<std::string>> entry =
        ResolveEnvArgument(argument, lookup);
    if (!entry.ok()) {
      return entry.status();
    }
    if (entry->has_value()) {
      start->add_env(**entry);
    }
  }
  return absl::OkStatus();
}

absl::Status AddUser(const ExecArgs& args, ExecStart* start) {
  if (!args.user.has_value()) {
    return absl::OkStatus();
  }

  absl::StatusOr<UserSpec> user = ParseUserSpec(*args.user);
  if (!user.ok()) {
    return user.status();
  }
  start->set_uid(user->uid);
  if (user->gid.has_value()) {
    start->set_gid(*user->gid);
  }
  return absl::OkStatus();
}

// The one line a failed call deserves, or "" when there is nothing to say:
// the command ran to its end, or the user interrupted attachctl.
std::string FailureLine(const ExecResult& result, const std::string& what,
                        const std::string& socket_path) {
  if (result.interrupt_signal != 0) {
    return "";
  }
  if (!result.status.ok()) {
    std::string line =
        RpcErrorLine(what, result.status, socket_path, result.daemon_answered);
    if (result.exit.has_value()) {
      absl::StrAppend(&line, " (after the command exited)");
    }
    return line;
  }
  if (!result.exit.has_value()) {
    return ErrorLine(what, "the daemon ended the call without an exit status");
  }
  return "";
}

}  // namespace

absl::StatusOr<ExecStart> BuildExecStart(const ExecArgs& args,
                                         const EnvironmentLookup& lookup) {
  if (args.command.empty()) {
    return absl::InvalidArgumentError(
        "exec: no command given (attachctl exec NAME -- CMD [ARGS...])");
  }

  ExecStart start;
  start.set_container(args.container);
  for (const std::string& argument : args.command) {
    start.add_argv(argument);
  }
  start.set_inherit_env(args.inherit_env);
  start.set_attach_stdin(args.interactive);
  if (args.cwd.has_value()) {
    start.set_cwd(*args.cwd);
  }

  absl::Status status = AddEnvironment(args, lookup, &start);
  if (status.ok()) {
    status = AddUser(args, &start);
  }
  if (!status.ok()) {
    return status;
  }
  return start;
}

int RunExec(attachd::v1::ExecService::StubInterface& stub,
            const ExecStart& start, const ExecIo& io,
            const std::string& socket_path) {
  ExecSession session(&stub, io);
  absl::StatusOr<std::unique_ptr<TerminationSignalWatcher>> watcher =
      TerminationSignalWatcher::Start([&session](int) { session.Cancel(); });
  if (!watcher.ok()) {
    WriteAll(io.stderr_fd, ErrorLine("exec", watcher.status().message()) + "\n")
        .IgnoreError();
    return kExitFailure;
  }

  ExecResult result = session.Run(start);
  result.interrupt_signal = (*watcher)->first_signal();
  watcher->reset();

  std::string line = FailureLine(
      result, absl::StrCat("exec in ", start.container()), socket_path);
  if (!line.empty()) {
    WriteAll(io.stderr_fd, line + "\n").IgnoreError();
  }
  return ExitCodeFor(result);
}

}  // namespace attachd::client
