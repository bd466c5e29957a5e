// Owners for file descriptors: UniqueFd (common/unique_fd.h) for any, and
// Pidfd and NamespaceFd, which wrap a UniqueFd so that a pidfd cannot
// be passed where a namespace fd is expected, or the other way round: the
// kernel accepts both in setns(2), with different meanings.
//
// Every descriptor the daemon opens is O_CLOEXEC; these types do not check
// that, the call sites do.  All members are safe to call from any thread
// on distinct objects.

#ifndef ATTACHD_DAEMON_UNIQUE_FD_H_
#define ATTACHD_DAEMON_UNIQUE_FD_H_

#include <utility>

#include "common/unique_fd.h"

namespace attachd::daemon {

using common::UniqueFd;

// A process file descriptor (pidfd_open(2), clone3 CLONE_PIDFD).  It keeps
// referring to its process after that process exits: operations through it
// then fail with ESRCH and can never reach a process that reused the pid.
class Pidfd {
 public:
  Pidfd() = default;
  explicit Pidfd(UniqueFd fd) : fd_(std::move(fd)) {}

  int get() const { return fd_.get(); }
  bool valid() const { return fd_.valid(); }
  void reset() { fd_.reset(); }

 private:
  UniqueFd fd_;
};

// A namespace file descriptor: an open /proc/PID/ns/<type> file.
class NamespaceFd {
 public:
  NamespaceFd() = default;
  explicit NamespaceFd(UniqueFd fd) : fd_(std::move(fd)) {}

  int get() const { return fd_.get(); }
  bool valid() const { return fd_.valid(); }

 private:
  UniqueFd fd_;
};

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_UNIQUE_FD_H_
