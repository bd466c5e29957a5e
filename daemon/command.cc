#include "daemon/command.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "daemon/syscalls.h"

namespace attachd::daemon {
namespace {

bool HasNul(absl::string_view text) {
  return text.find('\0') != absl::string_view::npos;
}

absl::Status ValidateSpec(const CommandSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return absl::InvalidArgumentError("argv is empty: no program to run");
  }
  for (const std::string& arg : spec.argv) {
    if (HasNul(arg)) {
      return absl::InvalidArgumentError("argv entry contains a NUL byte");
    }
  }
  for (const std::string& entry : spec.env) {
    size_t equals = entry.find('=');
    if (equals == std::string::npos || equals == 0 || HasNul(entry)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "environment entry \"", absl::CHexEscape(entry.substr(0, 64)),
          "\" is not KEY=VALUE"));
    }
  }
  if (HasNul(spec.cwd)) {
    return absl::InvalidArgumentError("cwd contains a NUL byte");
  }
  if (spec.stdin_fd < 3 || spec.stdout_fd < 3 || spec.stderr_fd < 3) {
    return absl::InternalError("command stdio descriptors must be >= 3");
  }
  return absl::OkStatus();
}

// Async-signal-safe.
void ResetSignals() {
  struct sigaction action = {};
  action.sa_handler = SIG_DFL;
  for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
    sigaction(signal_number, &action, nullptr);
  }
  sigset_t empty;
  sigemptyset(&empty);
  sigprocmask(SIG_SETMASK, &empty, nullptr);
}

// Async-signal-safe.
bool InstallStdio(const CommandSpec& spec) {
  return dup2(spec.stdin_fd, 0) == 0 && dup2(spec.stdout_fd, 1) == 1 &&
         dup2(spec.stderr_fd, 2) == 2;
}

// Async-signal-safe.  In a user namespace whose setgroups file says
// "deny", setgroups(2) fails with EPERM; with no groups asked for, that is
// not an error: the groups cannot be changed by anyone there.
bool SetCredentials(const CommandSpec& spec) {
  if (RawSetgroups(spec.supplementary_gids.size(),
                   spec.supplementary_gids.data()) < 0 &&
      !(errno == EPERM && spec.supplementary_gids.empty())) {
    return false;
  }
  return RawSetresgid(spec.gid, spec.gid, spec.gid) == 0 &&
         RawSetresuid(spec.uid, spec.uid, spec.uid) == 0;
}

}  // namespace

PreparedCommand::PreparedCommand(CommandSpec spec) : spec_(std::move(spec)) {}

absl::StatusOr<PreparedCommand> PreparedCommand::Create(CommandSpec spec) {
  if (absl::Status status = ValidateSpec(spec); !status.ok()) {
    return status;
  }

  bool has_path = false;
  std::string search_path = kDefaultPath;
  for (const std::string& entry : spec.env) {
    if (absl::StartsWith(entry, "PATH=")) {
      has_path = true;
      search_path = entry.substr(5);
    }
  }
  if (!has_path) {
    spec.env.push_back(absl::StrCat("PATH=", kDefaultPath));
  }
  if (spec.cwd.empty()) {
    spec.cwd = "/";
  }

  PreparedCommand command(std::move(spec));
  command.search_path_ = std::move(search_path);
  command.BuildArrays();
  return command;
}

void PreparedCommand::BuildArrays() {
  for (std::string& arg : spec_.argv) {
    argv_.push_back(arg.data());
  }
  argv_.push_back(nullptr);
  for (std::string& entry : spec_.env) {
    envp_.push_back(entry.data());
  }
  envp_.push_back(nullptr);

  // The longest candidate is the longest PATH entry, '/', the program and
  // its NUL; the whole PATH is an upper bound for the first.
  path_buffer_.resize(search_path_.size() + spec_.argv[0].size() + 2);
}

int PreparedCommand::ExecProgram() const {
  const char* program = argv_[0];
  if (strchr(program, '/') != nullptr) {
    execve(program, argv_.data(), envp_.data());
    return errno;
  }

  char* candidate = path_buffer_.data();
  size_t program_length = strlen(program);
  bool denied = false;
  for (const char* dir = search_path_.c_str();; ++dir) {
    // An empty PATH entry means the working directory, as in execvp(3).
    const char* end = strchrnul(dir, ':');
    size_t length = end - dir;
    memcpy(candidate, dir, length);
    if (length > 0) {
      candidate[length++] = '/';
    }
    memcpy(candidate + length, program, program_length + 1);
    execve(candidate, argv_.data(), envp_.data());

    // Like execvp(3): keep looking past entries that do not hold the
    // program; remember a permission error to report if nothing is found.
    if (errno == EACCES) {
      denied = true;
    } else if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP &&
               errno != ENAMETOOLONG && errno != ESTALE && errno != ENODEV) {
      return errno;
    }
    if (*end == '\0') {
      break;
    }
    dir = end;
  }
  return denied ? EACCES : ENOENT;
}

int PreparedCommand::Start(const WorkerContext& context, void* argument) {
  // Async-signal-safe from here to execve: this runs in a child of the
  // multi-threaded daemon.
  const PreparedCommand& command = *static_cast<PreparedCommand*>(argument);
  const CommandSpec& spec = command.spec_;

  if (setsid() < 0 || !InstallStdio(spec)) {
    context.ReportFailure(WorkerStep::kStdio, errno);
    return 127;
  }
  if (!SetCredentials(spec)) {
    context.ReportFailure(WorkerStep::kCredentials, errno);
    return 127;
  }
  if (chdir(spec.cwd.c_str()) < 0) {
    context.ReportFailure(WorkerStep::kCwd, errno);
    return 127;
  }
  if (spec.file_limit.has_value()) {
    setrlimit(RLIMIT_NOFILE, &*spec.file_limit);
  }
  ResetSignals();

  // Everything but 0, 1, 2 closes on exec; the report pipe's closing tells
  // the spawner the program started.
  CloseRange(3, ~0U, /*cloexec_only=*/true);
  int error = command.ExecProgram();
  context.ReportFailure(WorkerStep::kExec, error);
  return 127;
}

}  // namespace attachd::daemon
