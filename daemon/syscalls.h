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

// Credential changes for the calling thread only.  glibc's setresuid(2)
// family applies the change to every thread of the process through a
// signal broadcast, under a lock; in a child forked from a multi-threaded
// process glibc still believes the other threads exist and waits for them
// forever.  A worker has one thread, so the raw call is the whole change.
inline int RawSetgroups(size_t count, const gid_t* groups) {
  return static_cast<int>(syscall(SYS_setgroups, count, groups));
}

inline int RawSetresgid(gid_t real, gid_t effective, gid_t saved) {
  return static_cast<int>(syscall(SYS_setresgid, real, effective, saved));
}

inline int RawSetresuid(uid_t real, uid_t effective, uid_t saved) {
  return static_cast<int>(syscall(SYS_setresuid, real, effective, saved));
}

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_SYSCALLS_H_
