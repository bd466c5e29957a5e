// attachctl: the command-line client of attachd.
//
// Parses the command line with CLI11 and runs one subcommand against the
// daemon's socket.  Exit status: that of the subcommand (see
// container_commands.h and exit_code.h), 2 for a usage error.

#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "attachd/v1/attachd.grpc.pb.h"
#include "client/command_env.h"
#include "client/container_commands.h"
#include "client/exec_command.h"
#include "client/exit_code.h"
#include "client/flag_parsing.h"
#include "client/kill_command.h"
#include "grpcpp/grpcpp.h"

namespace attachd::client {
namespace {

constexpr char kDefaultSocketPath[] = "/run/attachd/attachd.sock";

constexpr char kExecFooter[] =
    "The command follows \"--\" and reaches the container byte for byte:\n"
    "  attachctl exec -i web -- sh -c 'cat > /tmp/notes'\n"
    "  attachctl exec -it web -- sh\n"
    "\n"
    "With -it, stdin must be a terminal; it is in raw mode while the command\n"
    "runs, so Ctrl-C goes to the command.  -d prints the command's pid for\n"
    "attachctl kill and `attachctl events` reports its exit.\n"
    "\n"
    "Exit status: the command's; 128+N when signal N killed it or\n"
    "interrupted attachctl; 124 when --timeout killed it; 127 when the\n"
    "program was not found; 126 when it could not be started; 1 for any\n"
    "other failure; 2 for a usage error.";

struct Flags {
  std::string socket_path;
  bool verbose = false;
  std::string register_name;
  std::string register_pid;
  std::optional<std::string> register_start_time;
  bool list_quiet = false;
  bool list_json = false;
  std::string inspect_name;
  std::vector<std::string> remove_names;
  bool events_since_start = false;
  bool events_json = false;
  std::string kill_name;
  std::string kill_pid;
  std::string kill_signal = "KILL";
  ExecArgs exec;
};

// The command line split at its first "--".  CLI11 sees only what comes
// before it; what follows is exec's command, which must reach the daemon
// byte for byte, and CLI11 would rewrite some arguments (it splits
// "[a,b]" into two values for a list option).
//
// Limitation: an option value that is exactly "--" (as in "--cwd --") is
// taken for the separator; "--cwd=--" works.
struct SplitCommandLine {
  std::vector<char*> options;
  std::vector<std::string> command;
  bool has_separator = false;
};

SplitCommandLine SplitAtSeparator(int argc, char** argv) {
  SplitCommandLine split;
  for (int i = 0; i < argc; ++i) {
    if (split.has_separator) {
      split.command.emplace_back(argv[i]);
    } else if (i > 0 && absl::string_view(argv[i]) == "--") {
      split.has_separator = true;
    } else {
      split.options.push_back(argv[i]);
    }
  }
  return split;
}

std::string DefaultSocketPath() {
  const char* path = getenv("ATTACHD_SOCKET");
  if (path != nullptr && path[0] != '\0') {
    return path;
  }
  return kDefaultSocketPath;
}

void AddGlobalFlags(CLI::App& app, Flags& flags) {
  flags.socket_path = DefaultSocketPath();
  app.add_option("--socket", flags.socket_path,
                 "attachd's socket (default: $ATTACHD_SOCKET, else " +
                     std::string(kDefaultSocketPath) + ")");
  app.add_flag("-v,--verbose", flags.verbose,
               "Report more, such as the pid of an exec'd command");
}

void AddContainerCommands(CLI::App& app, Flags& flags) {
  CLI::App* reg = app.add_subcommand(
      "register", "Register a running process as a container; prints its name");
  reg->add_option("NAME", flags.register_name, "1-63 characters of [a-z0-9-]")
      ->required();
  reg->add_option("--pid", flags.register_pid, "The container's process")
      ->required();
  reg->add_option("--start-time", flags.register_start_time,
                  "Refuse unless the process started at this time (field 22 "
                  "of /proc/PID/stat)");

  CLI::App* list = app.add_subcommand("ls", "List the containers");
  list->add_flag("-q,--quiet", flags.list_quiet, "Print names only");
  list->add_flag("--json", flags.list_json, "Print the list as JSON")
      ->excludes("--quiet");

  CLI::App* inspect =
      app.add_subcommand("inspect", "Print a container as JSON");
  inspect->add_option("NAME", flags.inspect_name)->required();

  CLI::App* remove = app.add_subcommand("rm", "Unregister containers");
  remove->add_option("NAME", flags.remove_names)->required();

  CLI::App* events = app.add_subcommand(
      "events",
      "Follow registrations, container exits and detached commands' exits");
  events->add_flag("--since-start", flags.events_since_start,
                   "First report the containers already registered");
  events->add_flag("--json", flags.events_json, "One JSON object per line");
}

void AddExecCommand(CLI::App& app, Flags& flags) {
  CLI::App* exec = app.add_subcommand(
      "exec", "Run a command in a container: exec [OPTIONS] NAME -- CMD...");
  exec->add_flag("-i,--interactive", flags.exec.interactive,
                 "Forward stdin to the command");
  exec->add_flag("-t,--tty", flags.exec.tty,
                 "Run the command on a terminal the size of this one");
  exec->add_flag("-d,--detach", flags.exec.detach,
                 "Start the command, print its pid and leave it running");
  exec->add_option("-e,--env", flags.exec.env,
                   "Set KEY=VALUE; KEY alone takes attachctl's value, if set")
      ->allow_extra_args(false);
  exec->add_flag("--inherit-env", flags.exec.inherit_env,
                 "Start from the container process's environment");
  exec->add_option("-w,--cwd", flags.exec.cwd,
                   "Working directory in the container (default /)");
  exec->add_option("-u,--user", flags.exec.user,
                   "USER[:GROUP] in the container, names or numbers "
                   "(default 0:0)");
  exec->add_flag("--elevated", flags.exec.elevated,
                 "Keep every capability of the container's user namespace");
  exec->add_option("--timeout", flags.exec.timeout,
                   "Kill the command after this long (30s, 5m, 1.5h)");
  exec->add_option("NAME", flags.exec.container)->required();
  exec->footer(kExecFooter);
}

void AddKillCommand(CLI::App& app, Flags& flags) {
  CLI::App* kill = app.add_subcommand(
      "kill", "Send a signal to a detached command: kill NAME PID");
  kill->add_option("NAME", flags.kill_name)->required();
  kill->add_option("PID", flags.kill_pid, "The pid that exec -d printed")
      ->required();
  kill->add_option("-s,--signal", flags.kill_signal,
                   "A name (TERM, SIGTERM, term) or a number")
      ->capture_default_str();
}

int UsageError(absl::string_view message) {
  std::cerr << "attachctl: " << message << "\n";
  return kExitUsage;
}

int MisplacedCommandError(const std::string& first_word) {
  return UsageError("exec: unexpected argument \"" + first_word +
                    "\" (the command goes after --)");
}

std::shared_ptr<grpc::Channel> Connect(const std::string& socket_path) {
  return grpc::CreateChannel("unix:" + socket_path,
                             grpc::InsecureChannelCredentials());
}

int RunExecCommand(Flags& flags) {
  absl::StatusOr<attachd::v1::ExecStart> start =
      BuildExecStart(flags.exec, LookupProcessEnvironment);
  if (!start.ok()) {
    return UsageError(start.status().message());
  }

  auto stub = attachd::v1::ExecService::NewStub(Connect(flags.socket_path));
  ExecIo io;
  io.verbose = flags.verbose;
  return RunExec(*stub, *start, io, flags.socket_path);
}

int RunKillCommand(const Flags& flags) {
  KillArgs args;
  args.container = flags.kill_name;
  absl::StatusOr<int32_t> pid = ParseProcessId("PID", flags.kill_pid);
  if (!pid.ok()) {
    return UsageError(pid.status().message());
  }
  args.pid = *pid;
  absl::StatusOr<int> signal = ParseSignal("--signal", flags.kill_signal);
  if (!signal.ok()) {
    return UsageError(signal.status().message());
  }
  args.signal = *signal;

  auto stub = attachd::v1::ExecService::NewStub(Connect(flags.socket_path));
  return RunKill(*stub, args, CommandEnv{.socket_path = flags.socket_path});
}

// CLI11 would bend the numbers (see flag_parsing.h); they are parsed here.
absl::StatusOr<RegisterArgs> ParseRegisterFlags(const Flags& flags) {
  RegisterArgs args;
  args.name = flags.register_name;

  absl::StatusOr<int32_t> pid = ParsePid(flags.register_pid);
  if (!pid.ok()) {
    return pid.status();
  }
  args.pid = *pid;

  if (flags.register_start_time.has_value()) {
    absl::StatusOr<uint64_t> start_time =
        ParseStartTime(*flags.register_start_time);
    if (!start_time.ok()) {
      return start_time.status();
    }
    args.start_time = *start_time;
  }
  return args;
}

int RunRegisterCommand(ContainerStub& stub, const Flags& flags,
                       const CommandEnv& env) {
  absl::StatusOr<RegisterArgs> args = ParseRegisterFlags(flags);
  if (!args.ok()) {
    return UsageError(args.status().message());
  }
  return RunRegister(stub, *args, env);
}

int RunContainerCommand(const CLI::App& app, const Flags& flags) {
  auto stub =
      attachd::v1::ContainerService::NewStub(Connect(flags.socket_path));
  CommandEnv env{.socket_path = flags.socket_path};
  if (app.got_subcommand("register")) {
    return RunRegisterCommand(*stub, flags, env);
  }
  if (app.got_subcommand("ls")) {
    ListFormat format = flags.list_json    ? ListFormat::kJson
                        : flags.list_quiet ? ListFormat::kNames
                                           : ListFormat::kTable;
    return RunList(*stub, format, absl::Now(), env);
  }
  if (app.got_subcommand("inspect")) {
    return RunInspect(*stub, flags.inspect_name, env);
  }
  if (app.got_subcommand("rm")) {
    return RunRemove(*stub, flags.remove_names, env);
  }
  return RunEvents(*stub, flags.events_since_start,
                   flags.events_json ? EventFormat::kJson : EventFormat::kText,
                   env);
}

int Main(int argc, char** argv) {
  CLI::App app("attachctl: act inside running containers through attachd",
               "attachctl");
  Flags flags;
  // Before the subcommands exist, so that they inherit it: global flags
  // may follow the subcommand, as in "attachctl ls --socket PATH".
  app.fallthrough();
  AddGlobalFlags(app, flags);
  AddContainerCommands(app, flags);
  AddExecCommand(app, flags);
  AddKillCommand(app, flags);
  app.require_subcommand(1);

  CLI::App* exec = app.get_subcommand("exec");
  SplitCommandLine split = SplitAtSeparator(argc, argv);
  try {
    app.parse(static_cast<int>(split.options.size()), split.options.data());
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    // "exec web ls -l": the first word of a command given without "--"
    // would otherwise go unmentioned behind CLI11's complaint about "-l".
    if (exec->parsed() && !app.remaining().empty()) {
      return MisplacedCommandError(app.remaining()[0]);
    }
    return UsageError(std::string(error.what()) + " (see attachctl --help)");
  }

  // The command's output is written with write(2); a reader that went away
  // must show up as EPIPE, not kill attachctl.
  signal(SIGPIPE, SIG_IGN);

  if (exec->parsed()) {
    flags.exec.command = std::move(split.command);
    return RunExecCommand(flags);
  }
  if (split.has_separator) {
    return UsageError("only exec takes arguments after --");
  }
  if (app.got_subcommand("kill")) {
    return RunKillCommand(flags);
  }
  return RunContainerCommand(app, flags);
}

}  // namespace
}  // namespace attachd::client

int main(int argc, char** argv) { return attachd::client::Main(argc, argv); }
