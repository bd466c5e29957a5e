#include "daemon/command.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "daemon/syscalls.h"
#include "daemon/terminal.h"

namespace attachd::daemon {
namespace {

bool HasNul(absl::string_view text) {
  return text.find('\0') != absl::string_view::npos;
}

absl::Status ValidateSpec(const CommandSpec& spec) {
  if (spec.argv.empty()) {
    return absl::InvalidArgumentError("argv is empty: no program to run");
  }
  if (spec.argv[0].empty()) {
    return absl::InvalidArgumentError("argv[0] is empty: no program to run");
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
  if (!spec.lsm_label.value.empty() && spec.lsm_label.path.empty()) {
    return absl::InternalError("an LSM label without an attr file");
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

// Async-signal-safe.  The kernel takes a label for execve only from the
// process itself, through its own procfs attr file.  The container owns
// the /proc the worker sees; a file there that is not procfs's would take
// the write and leave the command unlabelled, so it is refused.
bool WriteExecLabel(const ExecLabel& label) {
  if (label.value.empty()) {
    return true;
  }
  int fd = open(label.path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return false;
  }
  struct statfs filesystem;
  bool ok = fstatfs(fd, &filesystem) == 0;
  if (ok && filesystem.f_type != PROC_SUPER_MAGIC) {
    errno = EPERM;
    ok = false;
  }
  ok = ok && write(fd, label.value.data(), label.value.size()) ==
                 static_cast<ssize_t>(label.value.size());
  int saved_errno = errno;
  close(fd);
  errno = saved_errno;
  return ok;
}

// Async-signal-safe.  Drops from the bounding set every capability not in
// `keep`; stores what the set then holds in `result`.  PR_CAPBSET_READ
// fails with EINVAL past the kernel's last capability.
bool DropBoundingSet(uint64_t keep, uint64_t* result) {
  *result = 0;
  for (int capability = 0; capability < 64; ++capability) {
    uint64_t bit = uint64_t{1} << capability;
    int present = prctl(PR_CAPBSET_READ, capability, 0, 0, 0);
    if (present < 0) {
      return errno == EINVAL;
    }
    if (present == 1 && !(keep & bit) &&
        prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) < 0) {
      return false;
    }
    if (present == 1 && (keep & bit)) {
      *result |= bit;
    }
  }
  return true;
}

// Async-signal-safe.  In a user namespace whose setgroups file says
// "deny", setgroups(2) fails with EPERM; with no groups asked for, that is
// not an error: the groups cannot be changed by anyone there.
bool SetIds(const CommandSpec& spec) {
  if (RawSetgroups(spec.supplementary_gids.size(),
                   spec.supplementary_gids.data()) < 0 &&
      !(errno == EPERM && spec.supplementary_gids.empty())) {
    return false;
  }
  return RawSetresgid(spec.gid, spec.gid, spec.gid) == 0 &&
         RawSetresuid(spec.uid, spec.uid, spec.uid) == 0;
}

uint64_t JoinHalves(uint32_t low, uint32_t high) {
  return (uint64_t{high} << 32) | low;
}

// Async-signal-safe.  capset(2) by raw syscall (libcap and glibc add
// nothing a forked child needs), then the ambient set, which needs each
// capability in both the permitted and the inheritable set.
bool SetCapabilitySets(const CapabilitySets& wanted, uint64_t bounding) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) < 0) {
    return false;
  }
  uint64_t own_permitted = JoinHalves(data[0].permitted, data[1].permitted);
  uint64_t own_inheritable =
      JoinHalves(data[0].inheritable, data[1].inheritable);

  // capset(2) may only lower the permitted set, and may raise an
  // inheritable capability only if it is both permitted and bounded.
  uint64_t permitted = wanted.permitted & own_permitted;
  uint64_t effective = wanted.effective & permitted;
  uint64_t inheritable =
      wanted.inheritable & (own_inheritable | (own_permitted & bounding));
  for (int half = 0; half < 2; ++half) {
    data[half].effective = static_cast<uint32_t>(effective >> (32 * half));
    data[half].permitted = static_cast<uint32_t>(permitted >> (32 * half));
    data[half].inheritable = static_cast<uint32_t>(inheritable >> (32 * half));
  }
  if (syscall(SYS_capset, &header, data) < 0) {
    return false;
  }

  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
    return false;
  }
  uint64_t ambient = wanted.ambient & permitted & inheritable;
  for (int capability = 0; capability < 64; ++capability) {
    if ((ambient & (uint64_t{1} << capability)) &&
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, capability, 0, 0) < 0) {
      return false;
    }
  }
  return true;
}

// Async-signal-safe.  Steps 2 to 5 of the order in command.h.
bool SetCredentials(const CommandSpec& spec) {
  uint64_t bounding = 0;
  if (spec.capabilities.has_value()) {
    if (!DropBoundingSet(spec.capabilities->bounding, &bounding)) {
      return false;
    }
    if (spec.uid != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
      return false;
    }
  }

  if (!SetIds(spec)) {
    return false;
  }

  if (spec.capabilities.has_value() &&
      !SetCapabilitySets(*spec.capabilities, bounding)) {
    return false;
  }
  return !spec.no_new_privs || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0;
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

  if (setsid() < 0) {
    context.ReportFailure(WorkerStep::kStdio, errno);
    return 127;
  }
  if (spec.terminal_socket >= 0) {
    if (int error = InstallContainerTerminal(spec.terminal_socket, spec.window);
        error != 0) {
      context.ReportFailure(WorkerStep::kStdio, error);
      return 127;
    }
  } else if (!InstallStdio(spec)) {
    context.ReportFailure(WorkerStep::kStdio, errno);
    return 127;
  }
  if (!WriteExecLabel(spec.lsm_label) || !SetCredentials(spec)) {
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
