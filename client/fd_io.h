// Blocking byte I/O on descriptors the caller owns, robust against the
// ways a raw write(2) can fall short.
//
// The functions never take ownership of the descriptors they are given and
// never change their flags.  They may be called from any thread; two
// threads must not write the same descriptor at once.

#ifndef ATTACHD_CLIENT_FD_IO_H_
#define ATTACHD_CLIENT_FD_IO_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace attachd::client {

// Writes all of `data` to `fd`: retries after EINTR and short writes, and
// waits with poll(2) when `fd` is non-blocking and full (EAGAIN).
//
// Returns OK once every byte is written; FAILED_PRECONDITION when the
// reader went away (EPIPE: the caller must have SIGPIPE ignored), and
// INTERNAL for any other write error, with errno's text in the message.
// After an error an unknown prefix of `data` has been written.
absl::Status WriteAll(int fd, absl::string_view data);

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_FD_IO_H_
