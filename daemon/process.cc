#include "daemon/process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "daemon/status_macros.h"
#include "daemon/syscalls.h"

namespace attachd::daemon {

absl::StatusOr<Pidfd> OpenPidfd(pid_t pid) {
  if (pid <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid pid ", pid));
  }

  // pidfd_open(2) always sets O_CLOEXEC.
  int fd = PidfdOpen(pid, 0);
  if (fd < 0 && errno == ESRCH) {
    return absl::NotFoundError(absl::StrCat("no process with pid ", pid));
  }
  // A thread id that is not its thread group's leader: ENOENT on recent
  // kernels, EINVAL on older ones.
  if (fd < 0 && (errno == EINVAL || errno == ENOENT)) {
    return absl::InvalidArgumentError(
        absl::StrCat("pid ", pid, " is not a process (thread group leader)"));
  }
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("pidfd_open(", pid, ")"));
  }
  return Pidfd(UniqueFd(fd));
}

absl::Status CheckAlive(const Pidfd& pidfd) {
  // Signal 0 checks existence and permission without sending anything.  A
  // zombie is still "alive" to the kernel here, and its pid stays taken.
  if (PidfdSendSignal(pidfd.get(), 0, nullptr, 0) == 0) {
    return absl::OkStatus();
  }
  if (errno == ESRCH) {
    return absl::NotFoundError("process exited");
  }
  return absl::ErrnoToStatus(
      errno, absl::StrCat("pidfd_send_signal(pidfd ", pidfd.get(), ", 0)"));
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  }

  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t n = read(fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("read ", path));
    }
    if (n == 0) {
      return text;
    }
    text.append(buffer, n);
  }
}

absl::StatusOr<std::string> ReadProcFile(const Pidfd& pidfd, pid_t pid,
                                         const char* name) {
  absl::StatusOr<std::string> text =
      ReadFileToString(absl::StrCat("/proc/", pid, "/", name));

  // Check liveness even when the read failed: a failure because the
  // process is gone is reported as its exit, not as a procfs error.
  ATTACHD_RETURN_IF_ERROR(CheckAlive(pidfd));
  return text;
}

absl::StatusOr<uint64_t> ParseStartTime(const std::string& stat) {
  // "pid (comm) state ppid ...": comm may contain ") ", so the fields
  // start after the last ')'.  starttime is field 22; field 3 (state) is
  // the first after the parenthesis.
  size_t close = stat.rfind(')');
  if (close == std::string::npos) {
    return absl::InternalError("malformed /proc/PID/stat: no ')'");
  }
  std::vector<absl::string_view> fields = absl::StrSplit(
      absl::string_view(stat).substr(close + 1), ' ', absl::SkipEmpty());
  constexpr size_t kStartTimeIndex = 22 - 3;
  uint64_t start_time = 0;
  if (fields.size() <= kStartTimeIndex ||
      !absl::SimpleAtoi(fields[kStartTimeIndex], &start_time)) {
    return absl::InternalError("malformed /proc/PID/stat: no starttime");
  }
  return start_time;
}

absl::StatusOr<uint64_t> ReadStartTime(const Pidfd& pidfd, pid_t pid) {
  ATTACHD_ASSIGN_OR_RETURN(std::string stat, ReadProcFile(pidfd, pid, "stat"));
  return ParseStartTime(stat);
}

}  // namespace attachd::daemon
