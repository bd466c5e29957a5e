// Thin wrappers for system calls that glibc 2.36 declares without C
// linkage for C++ (<sys/pidfd.h> lacks extern "C") or not at all.  Each is
// one raw syscall(2), so each is async-signal-safe, returns -1 and sets
// errno on failure, like the glibc functions it stands in for.

#ifndef ATTACHD_DAEMON_SYSCALLS_H_
#define ATTACHD_DAEMON_SYSCALLS_H_

#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

namespace attachd::daemon {

inline int PidfdOpen(pid_t pid, unsigned int flags) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, flags));
}

inline int PidfdSendSignal(int pidfd, int signal_number, siginfo_t* info,
                           unsigned int flags) {
  return static_cast<int>(
      syscall(SYS_pidfd_send_signal, pidfd, signal_number, info, flags));
}

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_SYSCALLS_H_
