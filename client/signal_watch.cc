#include "client/signal_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
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

// The largest signal number on Linux (SIGRTMAX); each fits in the one byte
// the handler writes.
constexpr int kLargestSignal = 64;

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

bool IsTerminationSignal(int signal) {
  return std::find(kTerminationSignals.begin(), kTerminationSignals.end(),
                   signal) != kTerminationSignals.end();
}

absl::Status CheckExtraSignals(const std::vector<int>& extra_signals) {
  for (int signal : extra_signals) {
    if (signal < 1 || signal > kLargestSignal || IsTerminationSignal(signal)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot watch signal ", signal, " as an extra signal"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SignalWatcher>> SignalWatcher::Start(
    std::function<void(int)> on_signal, const std::vector<int>& extra_signals) {
  absl::Status status = CheckExtraSignals(extra_signals);
  if (!status.ok()) {
    return status;
  }
  if (watcher_alive.exchange(true)) {
    return absl::FailedPreconditionError("a SignalWatcher is already running");
  }
  status = CreateSignalPipeOnce();
  if (!status.ok()) {
    watcher_alive.store(false);
    return status;
  }

  std::unique_ptr<SignalWatcher> watcher(
      new SignalWatcher(std::move(on_signal)));
  std::vector<int> signals(kTerminationSignals.begin(),
                           kTerminationSignals.end());
  signals.insert(signals.end(), extra_signals.begin(), extra_signals.end());
  for (int signal : signals) {
    status = watcher->Install(signal);
    if (!status.ok()) {
      return status;  // The destructor restores what was installed.
    }
  }
  return watcher;
}

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal)
    : on_signal_(std::move(on_signal)),
      thread_([this, read_fd = signal_pipe_read.load()] { Run(read_fd); }) {}

SignalWatcher::~SignalWatcher() {
  // In reverse, so that a signal installed twice ends as it was first.
  for (auto it = previous_.rbegin(); it != previous_.rend(); ++it) {
    sigaction(it->first, &it->second, nullptr);
  }

  unsigned char stop = kStopByte;
  while (write(signal_pipe_write.load(), &stop, 1) < 0 && errno == EINTR) {
  }
  thread_.join();

  watcher_alive.store(false);
}

absl::Status SignalWatcher::Install(int signal) {
  struct sigaction action = {};
  action.sa_handler = WriteSignalNumber;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  struct sigaction previous = {};
  if (sigaction(signal, &action, &previous) != 0) {
    return absl::InternalError(
        absl::StrCat("sigaction(", strsignal(signal), "): ", strerror(errno)));
  }
  previous_.emplace_back(signal, previous);
  return absl::OkStatus();
}

void SignalWatcher::Run(int read_fd) {
  while (true) {
    unsigned char byte = kStopByte;
    ssize_t count = read(read_fd, &byte, 1);
    if (count < 0 && errno == EINTR) {
      continue;
    }
    if (count != 1 || byte == kStopByte) {
      return;
    }

    if (IsTerminationSignal(byte)) {
      int expected = 0;
      first_termination_signal_.compare_exchange_strong(expected, byte);
    }
    on_signal_(byte);
  }
}

}  // namespace attachd::client
