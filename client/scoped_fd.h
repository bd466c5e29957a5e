// ScopedFd: the single owner of one file descriptor.
//
// Move-only; closes the descriptor when destroyed or reset.  Whoever holds
// the ScopedFd owns the descriptor; Get() lends it without transferring
// ownership, Release() transfers it to the caller.  Not thread-safe: one
// owner, one thread at a time.  Every descriptor handed to a ScopedFd by
// this client is opened with O_CLOEXEC (or its *_CLOEXEC flag).

#ifndef ATTACHD_CLIENT_SCOPED_FD_H_
#define ATTACHD_CLIENT_SCOPED_FD_H_

#include <unistd.h>

#include <utility>

namespace attachd::client {

class ScopedFd {
 public:
  ScopedFd() = default;
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(ScopedFd&& other) noexcept : fd_(other.Release()) {}
  ScopedFd& operator=(ScopedFd&& other) noexcept {
    Reset(other.Release());
    return *this;
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() { Reset(); }

  bool valid() const { return fd_ >= 0; }
  int Get() const { return fd_; }

  int Release() { return std::exchange(fd_, -1); }

  // Closes the owned descriptor (its close() error is ignored: the
  // descriptor is gone either way on Linux) and takes ownership of `fd`.
  void Reset(int fd = -1) {
    if (fd_ >= 0) {
      close(fd_);
    }
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_SCOPED_FD_H_
