#include "client/fd_io.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace attachd::client {
namespace {

absl::Status WriteError(int fd, int error) {
  std::string message = absl::StrCat("write(fd ", fd, "): ", strerror(error));
  if (error == EPIPE) {
    return absl::FailedPreconditionError(message);
  }
  return absl::InternalError(message);
}

// A descriptor inherited with O_NONBLOCK (a shared terminal or pipe) answers
// EAGAIN when full; waiting for POLLOUT turns it back into a blocking write.
absl::Status WaitWritable(int fd) {
  struct pollfd entry = {.fd = fd, .events = POLLOUT, .revents = 0};
  while (poll(&entry, 1, -1) < 0) {
    if (errno != EINTR) {
      return absl::InternalError(
          absl::StrCat("poll(fd ", fd, "): ", strerror(errno)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t written = write(fd, data.data(), data.size());
    if (written >= 0) {
      data.remove_prefix(static_cast<size_t>(written));
      continue;
    }

    if (errno == EINTR) {
      continue;
    }
    if (errno != EAGAIN) {
      return WriteError(fd, errno);
    }
    absl::Status status = WaitWritable(fd);
    if (!status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

}  // namespace attachd::client
