// Thin wrappers for system calls that glibc 2.36 declares without C
// linkage for C++ (<sys/pidfd.h> lacks extern "C") or not at all.  Each is
// one raw syscall(2), so each is async-signal-safe, returns -1 and sets
// errno on failure, like the glibc functions it stands in for.

#ifndef ATTACHD_DAEMON_SYSCALLS_H_
#define ATTACHD_DAEMON_SYSCALLS_H_

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/resource.h>
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

// Closes descriptors low..high (inclusive), or with `cloexec_only` marks
// them close-on-exec, by close_range(2) where the kernel has it (Linux
// 5.9; CLOSE_RANGE_CLOEXEC 5.11).  On older kernels it walks the range up
// to the descriptor limit, one call per descriptor.  Async-signal-safe.
inline void CloseRange(unsigned int low, unsigned int high, bool cloexec_only) {
  unsigned int flags = cloexec_only ? CLOSE_RANGE_CLOEXEC : 0;
  if (syscall(SYS_close_range, low, high, flags) == 0) {
    return;
  }
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) < 0 || limit.rlim_cur == RLIM_INFINITY) {
    limit.rlim_cur = 1 << 20;
  }
  for (unsigned int fd = low; fd <= high && fd < limit.rlim_cur; ++fd) {
    if (cloexec_only) {
      fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    } else {
      close(static_cast<int>(fd));
    }
  }
}

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_SYSCALLS_H_
