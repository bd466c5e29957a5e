// SignalWatcher: lets code that is not async-signal-safe, such as
// grpc::ClientContext::TryCancel() or a Write() on a stream, react to
// signals.
//
// While a watcher is alive, the termination signals SIGINT, SIGTERM and
// SIGHUP no longer end the process, and the extra signals it was started
// with (such as SIGWINCH) are caught as well: their handler only writes the
// signal's number to a pipe, and the watcher's own thread calls
// `on_signal(number)` for each signal received.  Destroying the watcher
// stops and joins that thread and restores the dispositions that were in
// place when it started.
//
// Threads: Start() and the destructor must run on the same thread, and at
// most one watcher may be alive at a time.  `on_signal` runs on the
// watcher's thread, so whatever it touches must be thread-safe; it should
// not block for long, since later signals wait for it.
//
// Descriptors: the pipe is created once, close-on-exec, and kept for the
// life of the process, so that a handler still running on another thread
// while a watcher is destroyed never writes to a closed or reused fd.

#ifndef ATTACHD_CLIENT_SIGNAL_WATCH_H_
#define ATTACHD_CLIENT_SIGNAL_WATCH_H_

#include <signal.h>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace attachd::client {

// The signals after which attachctl gives up the call it is making.
inline constexpr std::array<int, 3> kTerminationSignals = {SIGINT, SIGTERM,
                                                           SIGHUP};

class SignalWatcher {
 public:
  // Installs the handlers for kTerminationSignals and `extra_signals` and
  // starts the thread.  FAILED_PRECONDITION if another watcher is alive;
  // INVALID_ARGUMENT for an extra signal that is not 1-64 or is already a
  // termination signal; INTERNAL if pipe2(2) or sigaction(2) fails.
  static absl::StatusOr<std::unique_ptr<SignalWatcher>> Start(
      std::function<void(int signal)> on_signal,
      const std::vector<int>& extra_signals = {});

  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;
  ~SignalWatcher();

  // The first termination signal received, or 0 if none was; extra
  // signals do not count.  Any thread.
  int first_termination_signal() const {
    return first_termination_signal_.load();
  }

 private:
  explicit SignalWatcher(std::function<void(int)> on_signal);

  absl::Status Install(int signal);
  void Run(int read_fd);

  std::function<void(int)> on_signal_;
  std::atomic<int> first_termination_signal_{0};
  // The dispositions replaced, restored by the destructor.
  std::vector<std::pair<int, struct sigaction>> previous_;
  std::thread thread_;
};

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_SIGNAL_WATCH_H_
