#include "client/exec_command.h"

#include <signal.h>
#include <unistd.h>

#include <memory>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/exit_code.h"
#include "client/fd_io.h"
#include "client/rpc_error.h"
#include "client/signal_watch.h"
#include "client/terminal.h"

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

// As `docker exec -t`: a terminal without TERM leaves programs guessing
// (less and vi complain), and the local TERM may name an entry the
// container's terminfo lacks.  With --inherit-env the container's own TERM,
// which the client cannot see, is left to stand.
void AddTerminalType(const ExecArgs& args, ExecStart* start) {
  if (!args.tty || args.inherit_env) {
    return;
  }
  for (const std::string& entry : start->env()) {
    if (absl::StartsWith(entry, "TERM=")) {
      return;
    }
  }
  start->add_env(kDefaultTerm);
}

absl::Status AddUser(const ExecArgs& args, ExecStart* start) {
  if (!args.user.has_value()) {
    return absl::OkStatus();
  }

  absl::StatusOr<UserSpec> user = ParseUserSpec(*args.user);
  if (!user.ok()) {
    return user.status();
  }
  if (const NamedUser* named = std::get_if<NamedUser>(&*user)) {
    start->set_user(named->spec);
    return absl::OkStatus();
  }
  const NumericUser& numeric = std::get<NumericUser>(*user);
  start->set_uid(numeric.uid);
  if (numeric.gid.has_value()) {
    start->set_gid(*numeric.gid);
  }
  return absl::OkStatus();
}

absl::Status AddTimeout(const ExecArgs& args, ExecStart* start) {
  if (!args.timeout.has_value()) {
    return absl::OkStatus();
  }

  absl::StatusOr<absl::Duration> timeout = ParseTimeout(*args.timeout);
  if (!timeout.ok()) {
    return timeout.status();
  }
  int64_t seconds = absl::ToInt64Seconds(*timeout);
  start->mutable_timeout()->set_seconds(seconds);
  start->mutable_timeout()->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(*timeout - absl::Seconds(seconds))));
  return absl::OkStatus();
}

absl::Duration TimeoutOf(const ExecStart& start) {
  return absl::Seconds(start.timeout().seconds()) +
         absl::Nanoseconds(start.timeout().nanos());
}

attachd::v1::WindowSize LocalWindowSize(const ExecIo& io) {
  TerminalSize local = LocalTerminalSize(io.stdin_fd, io.stdout_fd);
  attachd::v1::WindowSize size;
  size.set_rows(local.rows);
  size.set_columns(local.columns);
  return size;
}

void WriteLine(const ExecIo& io, const std::string& line) {
  WriteAll(io.stderr_fd, line + "\n").IgnoreError();
}

// The one line a failed call deserves, or "" when there is nothing to say:
// the command ran to its end, or the user interrupted attachctl.
std::string FailureLine(const ExecResult& result, const ExecStart& start,
                        const std::string& socket_path) {
  std::string what = absl::StrCat("exec in ", start.container());
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
  if (start.detach() && !result.started.has_value()) {
    return ErrorLine(what, "the daemon ended the call without starting it");
  }
  if (!start.detach() && !result.exit.has_value()) {
    return ErrorLine(what, "the daemon ended the call without an exit status");
  }
  if (result.exit.has_value() && result.exit->timed_out()) {
    return absl::StrCat("attachctl: command timed out after ",
                        absl::FormatDuration(TimeoutOf(start)));
  }
  return "";
}

int ExitCodeForCall(const ExecResult& result, const ExecStart& start) {
  if (!start.detach()) {
    return ExitCodeFor(result);
  }
  if (result.status.ok() && result.started.has_value() &&
      result.interrupt_signal == 0) {
    return 0;
  }
  int code = ExitCodeFor(result);
  return code == 0 ? kExitFailure : code;
}

// Runs the call with the signal watcher, and with -it the terminal in raw
// mode; both are undone before this returns.
ExecResult RunWatched(attachd::v1::ExecService::StubInterface& stub,
                      const ExecStart& start, ExecIo io) {
  bool raw = start.tty() && start.attach_stdin();
  io.raw_terminal = raw;
  ExecSession session(&stub, io);
  std::vector<int> extra_signals;
  if (start.tty()) {
    extra_signals.push_back(SIGWINCH);
  }
  ExecResult failed;
  absl::StatusOr<std::unique_ptr<SignalWatcher>> watcher = SignalWatcher::Start(
      [&session, io](int signal) {
        if (signal == SIGWINCH) {
          session.Resize(LocalWindowSize(io));
        } else {
          session.Cancel();
        }
      },
      extra_signals);
  if (!watcher.ok()) {
    failed.status = grpc::Status(grpc::StatusCode::INTERNAL,
                                 std::string(watcher.status().message()));
    return failed;
  }

  std::unique_ptr<RawTerminalMode> raw_mode;
  if (raw) {
    absl::StatusOr<std::unique_ptr<RawTerminalMode>> entered =
        RawTerminalMode::Enter(io.stdin_fd);
    if (!entered.ok()) {
      failed.status = grpc::Status(grpc::StatusCode::INTERNAL,
                                   std::string(entered.status().message()));
      return failed;
    }
    raw_mode = std::move(*entered);
  }

  ExecResult result = session.Run(start);
  if (int signal_number = (*watcher)->first_termination_signal();
      signal_number != 0) {
    result.interrupt_signal = signal_number;
  }
  return result;
}

}  // namespace

absl::StatusOr<ExecStart> BuildExecStart(const ExecArgs& args,
                                         const EnvironmentLookup& lookup) {
  if (args.command.empty()) {
    return absl::InvalidArgumentError(
        "exec: no command given (attachctl exec NAME -- CMD [ARGS...])");
  }
  if (args.detach && (args.interactive || args.tty)) {
    return absl::InvalidArgumentError(
        "exec: -d cannot be used with -i or -t (a detached command has no "
        "stdin and no terminal)");
  }

  ExecStart start;
  start.set_container(args.container);
  for (const std::string& argument : args.command) {
    start.add_argv(argument);
  }
  start.set_inherit_env(args.inherit_env);
  start.set_attach_stdin(args.interactive);
  start.set_tty(args.tty);
  start.set_elevated(args.elevated);
  start.set_detach(args.detach);
  if (args.cwd.has_value()) {
    start.set_cwd(*args.cwd);
  }

  absl::Status status = AddEnvironment(args, lookup, &start);
  if (status.ok()) {
    AddTerminalType(args, &start);
    status = AddUser(args, &start);
  }
  if (status.ok()) {
    status = AddTimeout(args, &start);
  }
  if (!status.ok()) {
    return status;
  }
  return start;
}

int RunExec(attachd::v1::ExecService::StubInterface& stub,
            const ExecStart& start, const ExecIo& io,
            const std::string& socket_path) {
  if (start.tty() && start.attach_stdin() && !isatty(io.stdin_fd)) {
    WriteLine(io, ErrorLine("exec",
                            "the input device is not a TTY (-it "
                            "needs a terminal on stdin; drop -t to "
                            "pipe input)"));
    return kExitFailure;
  }
  ExecStart sized = start;
  if (sized.tty()) {
    *sized.mutable_window_size() = LocalWindowSize(io);
  }

  ExecResult result = RunWatched(stub, sized, io);

  if (sized.detach() && result.started.has_value()) {
    WriteAll(io.stdout_fd, absl::StrCat(result.started->pid(), "\n"))
        .IgnoreError();
  }
  std::string line = FailureLine(result, sized, socket_path);
  if (!line.empty()) {
    WriteLine(io, line);
  }
  return ExitCodeForCall(result, sized);
}

}  // namespace attachd::client
