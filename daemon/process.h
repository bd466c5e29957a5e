// Processes reached through pidfds, and the few facts about them that only
// procfs tells.
//
// procfs is addressed by pid, which another process may reuse at any
// moment.  Every function here that reads /proc/PID therefore takes the
// pidfd too and checks, after reading, that the pidfd's process is still
// alive: while it is alive (or a zombie) its pid cannot be reused, so what
// was read belonged to it.  This is the rule systemd follows for pidfds.
//
// All functions are thread-safe and allocate; none is async-signal-safe.

#ifndef ATTACHD_DAEMON_PROCESS_H_
#define ATTACHD_DAEMON_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "daemon/unique_fd.h"

namespace attachd::daemon {

// pidfd_open(pid).  NOT_FOUND when no process has that pid,
// INVALID_ARGUMENT for pid <= 0 or a thread id that is not a process.
absl::StatusOr<Pidfd> OpenPidfd(pid_t pid);

// OK until the pidfd's process has been reaped (a zombie still holds its
// pid, so it counts); NOT_FOUND ("process exited") after.
absl::Status CheckAlive(const Pidfd& pidfd);

// Field 22 of /proc/PID/stat (starttime, clock ticks after boot), then
// CheckAlive(pidfd).  The process name field may hold any bytes, including
// spaces and parentheses; parsing starts after its last ')'.
absl::StatusOr<uint64_t> ReadStartTime(const Pidfd& pidfd, pid_t pid);

// The whole of /proc/PID/<name>, then CheckAlive(pidfd).
absl::StatusOr<std::string> ReadProcFile(const Pidfd& pidfd, pid_t pid,
                                         const char* name);

// The contents of a (small, procfs or sysfs) file.  Errors carry the path.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Parses the starttime field out of the text of a /proc/PID/stat file.
absl::StatusOr<uint64_t> ParseStartTime(const std::string& stat);

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_PROCESS_H_
