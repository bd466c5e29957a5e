#include "client/signal_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace attachd::client {
namespace {

// The process-wide pipe from the handler to the watcher's thread; -1 until
// the first Start().  Read by the handler, so a lock-free atomic.
std::atomic<int> signal_pipe_read{-1};
std::atomic<int> signal_pipe_write{-1};
std::atomic<bool> watcher_alive{false};

// A byte that is not a signal number: tells the thread to stop.
constexpr unsigned char kStopByte = 0;

// Async-signal-safe: one write(2) to a non-blocking pipe, errno preserved.
// A full pipe drops the byte, which only loses a repeated signal.
void WriteSignalNumber(int signal) {
  int saved_errno = errno;
  unsigned char byte = static_cast<unsigned char>(signal);
  ssize_t ignored = write(signal_pipe_write.load(), &byte, 1);
  (void)ignored;
  errno = saved_errno;
}

// The write end is non-blocking so that the handler never waits; the read
// end blocks so that the thread sleeps in read(2).
absl::Status CreateSignalPipeOnce() {
  if (signal_pipe_write.load() >= 0) {
    return absl::OkStatus();
  }

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", strerror(errno)));
  }
  if (fcntl(fds[1], F_SETFL, O_NONBLOCK) != 0) {
    return absl::InternalError(
        absl::StrCat("fcntl(fd ", fds[1], ", O_NONBLOCK): ", strerror(errno)));
  }
  signal_pipe_read.store(fds[0]);
  signal_pipe_write.store(fds[1]);
  return absl::OkStatus();
}

absl::Status InstallHandler(int signal, struct sigaction* previous) {
  struct sigaction action = {};
  action.sa_handler = WriteSignalNumber;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  if (sigaction(signal, &action, previous) != 0) {
    return absl::InternalError(
        absl::StrCat("sigaction(", strsignal(signal), "): ", strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TerminationSignalWatcher>>
TerminationSignalWatcher::Start(std::function<void(int)> on_signal) {
  if (watcher_alive.exchange(true)) {
    return absl::FailedPreconditionError(
        "a TerminationSignalWatcher is already running");
  }
  absl::Status status = CreateSignalPipeOnce();
  if (!status.ok()) {
    watcher_alive.store(false);
    return status;
  }

  std::unique_ptr<TerminationSignalWatcher> watcher(
      new TerminationSignalWatcher(std::move(on_signal)));
  status = InstallHandler(SIGINT, &watcher->previous_sigint_);
  if (status.ok()) {
    status = InstallHandler(SIGTERM, &watcher->previous_sigterm_);
  }
  if (!status.ok()) {
    return status;  // The destructor restores what was installed.
  }
  return watcher;
}

TerminationSignalWatcher::TerminationSignalWatcher(
    std::function<void(int)> on_signal)
    : on_signal_(std::move(on_signal)),
      thread_([this, read_fd = signal_pipe_read.load()] { Run(read_fd); }) {}

TerminationSignalWatcher::~TerminationSignalWatcher() {
  sigaction(SIGINT, &previous_sigint_, nullptr);
  sigaction(SIGTERM, &previous_sigterm_, nullptr);

  unsigned char stop = kStopByte;
  while (write(signal_pipe_write.load(), &stop, 1) < 0 && errno == EINTR) {
  }
  thread_.join();

  watcher_alive.store(false);
}

void TerminationSignalWatcher::Run(int read_fd) {
  while (true) {
    unsigned char byte = kStopByte;
    ssize_t count = read(read_fd, &byte, 1);
    if (count < 0 && errno == EINTR) {
      continue;
    }
    if (count != 1 || byte == kStopByte) {
      return;
    }

    int expected = 0;
    first_signal_.compare_exchange_strong(expected, byte);
    on_signal_(byte);
  }
}

}  // namespace attachd::client
