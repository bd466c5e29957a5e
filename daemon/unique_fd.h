// Owners for file descriptors.
//
// UniqueFd owns one descriptor and closes it when destroyed; it is
// move-only.  Pidfd and NamespaceFd wrap a UniqueFd so that a pidfd cannot
// be passed where a namespace fd is expected, or the other way round: the
// kernel accepts both in setns(2), with different meanings.
//
// Every descriptor the daemon opens is O_CLOEXEC; these types do not check
// that, the call sites do.  All members are safe to call from any thread
// on distinct objects.

#ifndef ATTACHD_DAEMON_UNIQUE_FD_H_
#define ATTACHD_DAEMON_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace attachd::daemon {

class UniqueFd {
 public:
  UniqueFd() = default;
  // Takes ownership of `fd`; -1 means empty.
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

  // Gives up ownership without closing.
  int release() { return std::exchange(fd_, -1); }

  // Closes the current descriptor (errors from close(2) are ignored: the
  // descriptor is gone either way) and takes `fd`.
  void reset(int fd = -1) {
    if (fd_ >= 0) {
      close(fd_);
    }
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

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
