// TerminationSignalWatcher: lets code that is not async-signal-safe, such
// as grpc::ClientContext::TryCancel(), react to SIGINT and SIGTERM.
//
// While a watcher is alive, SIGINT and SIGTERM no longer end the process:
// their handler only writes the signal's number to a pipe, and the
// watcher's own thread calls `on_signal(number)` for each signal received.
// Destroying the watcher stops and joins that thread and restores the
// dispositions that were in place when it started.
//
// Threads: Start() and the destructor must run on the same thread, and at
// most one watcher may be alive at a time.  `on_signal` runs on the
// watcher's thread, so whatever it touches must be thread-safe.
//
// Descriptors: the pipe is created once, close-on-exec, and kept for the
// life of the process, so that a handler still running on another thread
// while a watcher is destroyed never writes to a closed or reused fd.

#ifndef ATTACHD_CLIENT_SIGNAL_WATCH_H_
#define ATTACHD_CLIENT_SIGNAL_WATCH_H_

#include <signal.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"

namespace attachd::client {

class TerminationSignalWatcher {
 public:
  // Installs the handlers and starts the thread.  FAILED_PRECONDITION if
  // another watcher is alive; INTERNAL if pipe2(2) or sigaction(2) fails.
  static absl::StatusOr<std::unique_ptr<TerminationSignalWatcher>> Start(
      std::function<void(int signal)> on_signal);

  TerminationSignalWatcher(const TerminationSignalWatcher&) = delete;
  TerminationSignalWatcher& operator=(const TerminationSignalWatcher&) = delete;
  ~TerminationSignalWatcher();

  // The first signal received, or 0 if none was.  Any thread.
  int first_signal() const { return first_signal_.load(); }

 private:
  explicit TerminationSignalWatcher(std::function<void(int)> on_signal);

  void Run(int read_fd);

  std::function<void(int)> on_signal_;
  std::atomic<int> first_signal_{0};
  struct sigaction previous_sigint_ = {};
  struct sigaction previous_sigterm_ = {};
  std::thread thread_;
};

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_SIGNAL_WATCH_H_
