#include "daemon/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

namespace attachd::daemon {
namespace {

// A one-byte message with room for one descriptor, as SCM_RIGHTS needs.
// Async-signal-safe to fill; points into itself, so it must not move.
struct DescriptorMessage {
  DescriptorMessage() {
    data = {&byte, 1};
    header.msg_iov = &data;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof(control);
  }
  DescriptorMessage(const DescriptorMessage&) = delete;
  DescriptorMessage& operator=(const DescriptorMessage&) = delete;

  char byte = 0;
  struct iovec data;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr header = {};
};

// Async-signal-safe.
int SendDescriptor(int socket_fd, int fd) {
  DescriptorMessage message;
  struct cmsghdr* header = CMSG_FIRSTHDR(&message.header);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(header), &fd, sizeof(int));
  while (sendmsg(socket_fd, &message.header, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) {
      return errno;
    }
  }
  return 0;
}

}  // namespace

int InstallContainerTerminal(int socket_fd, const winsize& size) {
  // Async-signal-safe: runs in a worker between fork and exec.  "/dev/ptmx"
  // is resolved in the container's mount namespace, from its root.
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) {
    return errno;
  }
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0 ||
      ioctl(master, TIOCSWINSZ, &size) < 0) {
    return errno;
  }

  // TIOCGPTPEER opens the peer through the master itself, not through a
  // path in /dev/pts that the container could have replaced.
  int terminal = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (terminal < 0) {
    return errno;
  }
  if (int error = SendDescriptor(socket_fd, master); error != 0) {
    return error;
  }
  close(master);

  if (ioctl(terminal, TIOCSCTTY, 0) < 0) {
    return errno;
  }
  for (int fd = 0; fd < 3; ++fd) {
    if (dup2(terminal, fd) < 0) {
      return errno;
    }
  }
  close(terminal);
  return 0;
}

absl::StatusOr<UniqueFd> ReceiveTerminalMaster(int socket_fd) {
  DescriptorMessage message;
  if (recvmsg(socket_fd, &message.header, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <
      0) {
    return absl::ErrnoToStatus(errno, "recvmsg(terminal master)");
  }
  struct cmsghdr* header = CMSG_FIRSTHDR(&message.header);
  if (header == nullptr || header->cmsg_type != SCM_RIGHTS ||
      header->cmsg_len != CMSG_LEN(sizeof(int))) {
    return absl::InternalError("the worker sent no terminal master");
  }
  int fd;
  memcpy(&fd, CMSG_DATA(header), sizeof(int));
  return UniqueFd(fd);
}

}  // namespace attachd::daemon
