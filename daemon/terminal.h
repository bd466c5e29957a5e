// Pseudo-terminals for commands (ExecStart.tty), allocated inside the
// container.
//
// The worker, once it has joined the container's mount namespace, opens
// the container's /dev/ptmx, so that the terminal is one of the
// container's own devpts instance: the command sees a /dev/pts/N that
// exists in its /dev/pts, and nothing it does to that terminal reaches a
// terminal of the host.  The worker sets the initial window size before
// the command's first instruction, makes the terminal the controlling
// terminal of the command's new session, and sends the master side to
// attachd over a Unix socket (SCM_RIGHTS).  attachd holds the master and
// relays bytes and size changes.
//
// Limitation: a container without /dev/ptmx (no devpts) cannot have a
// terminal; the exec fails at the stdio step with the errno of the open.

#ifndef ATTACHD_DAEMON_TERMINAL_H_
#define ATTACHD_DAEMON_TERMINAL_H_

#include <sys/ioctl.h>

#include "absl/status/statusor.h"
#include "daemon/unique_fd.h"

namespace attachd::daemon {

// Async-signal-safe; for the worker, after setsid().  Opens a terminal in
// the container, sets `size`, sends its master over `socket_fd`, and
// installs its other side as descriptors 0, 1 and 2 and as the controlling
// terminal.  Returns 0, or the errno of the step that failed.
int InstallContainerTerminal(int socket_fd, const winsize& size);

// Receives the master sent by InstallContainerTerminal() on `socket_fd`
// (which must already hold it: the worker sends it before it execs).
absl::StatusOr<UniqueFd> ReceiveTerminalMaster(int socket_fd);

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_TERMINAL_H_
