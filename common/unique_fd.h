// UniqueFd: the single owner of one file descriptor, shared by the daemon
// and the client.
//
// Move-only; closes the descriptor when destroyed or reset.  get() lends
// the descriptor, release() hands ownership to the caller.  Safe to use
// from any thread on distinct objects; one object is not thread-safe.
// Every descriptor given to a UniqueFd in this project is opened with
// O_CLOEXEC (or its *_CLOEXEC flag); the type does not check that.

#ifndef ATTACHD_COMMON_UNIQUE_FD_H_
#define ATTACHD_COMMON_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace attachd::common {

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

}  // namespace attachd::common

#endif  // ATTACHD_COMMON_UNIQUE_FD_H_
