#include "client/signal_watch.h"

#include <signal.h>
#include <string.h>

#include <condition_variable>
#include <mutex>
#include <vector>

#include "gtest/gtest.h"

namespace attachd::client {
namespace {

// Collects the signals a watcher reports, for a test to wait on.
class SignalLog {
 public:
  void Add(int signal) {
    std::lock_guard<std::mutex> lock(mutex_);
    signals_.push_back(signal);
    changed_.notify_all();
  }

  std::vector<int> WaitForCount(size_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(5),
                      [&] { return signals_.size() >= count; });
    return signals_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<int> signals_;
};

TEST(SignalWatcher, ReportsTerminationSignalsOnItsThread) {
  SignalLog log;
  absl::StatusOr<std::unique_ptr<SignalWatcher>> watcher =
      SignalWatcher::Start([&log](int signal) { log.Add(signal); });
  ASSERT_TRUE(watcher.ok()) << watcher.status();

  ASSERT_EQ(raise(SIGTERM), 0);
  log.WaitForCount(1);
  ASSERT_EQ(raise(SIGINT), 0);
  log.WaitForCount(2);
  ASSERT_EQ(raise(SIGHUP), 0);

  EXPECT_EQ(log.WaitForCount(3), (std::vector<int>{SIGTERM, SIGINT, SIGHUP}));
  EXPECT_EQ((*watcher)->first_termination_signal(), SIGTERM);
}

TEST(SignalWatcher, ReportsExtraSignalsWithoutCountingThemAsTermination) {
  SignalLog log;
  absl::StatusOr<std::unique_ptr<SignalWatcher>> watcher =
      SignalWatcher::Start([&log](int signal) { log.Add(signal); }, {SIGWINCH});
  ASSERT_TRUE(watcher.ok()) << watcher.status();

  ASSERT_EQ(raise(SIGWINCH), 0);
  log.WaitForCount(1);
  EXPECT_EQ((*watcher)->first_termination_signal(), 0);
  ASSERT_EQ(raise(SIGHUP), 0);

  EXPECT_EQ(log.WaitForCount(2), (std::vector<int>{SIGWINCH, SIGHUP}));
  EXPECT_EQ((*watcher)->first_termination_signal(), SIGHUP);
}

TEST(SignalWatcher, RefusesBadExtraSignals) {
  for (int signal : {0, -1, 65, SIGINT, SIGHUP}) {
    SCOPED_TRACE(signal);
    absl::StatusOr<std::unique_ptr<SignalWatcher>> watcher =
        SignalWatcher::Start([](int) {}, {signal});

    EXPECT_EQ(watcher.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(watcher.status().message(), "cannot watch signal " +
                                              std::to_string(signal) +
                                              " as an extra signal");
  }
  EXPECT_TRUE(SignalWatcher::Start([](int) {}).ok());
}

TEST(SignalWatcher, ReportsNothingWithoutASignal) {
  absl::StatusOr<std::unique_ptr<SignalWatcher>> watcher =
      SignalWatcher::Start([](int) { ADD_FAILURE(); });
  ASSERT_TRUE(watcher.ok()) << watcher.status();

  EXPECT_EQ((*watcher)->first_termination_signal(), 0);
}

void RecordingHandler(int) {}

TEST(SignalWatcher, RestoresThePreviousDispositions) {
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, RecordingHandler);
  signal(SIGHUP, SIG_DFL);
  signal(SIGWINCH, RecordingHandler);

  {
    absl::StatusOr<std::unique_ptr<SignalWatcher>> watcher =
        SignalWatcher::Start([](int) {}, {SIGWINCH, SIGWINCH});
    ASSERT_TRUE(watcher.ok()) << watcher.status();
  }

  struct Case {
    int signal;
    void (*handler)(int);
  };
  for (const Case& c :
       {Case{SIGINT, SIG_IGN}, Case{SIGTERM, RecordingHandler},
        Case{SIGHUP, SIG_DFL}, Case{SIGWINCH, RecordingHandler}}) {
    SCOPED_TRACE(strsignal(c.signal));
    struct sigaction action = {};
    sigaction(c.signal, nullptr, &action);
    EXPECT_EQ(action.sa_handler, c.handler);
    signal(c.signal, SIG_DFL);
  }
}

TEST(SignalWatcher, AllowsOneWatcherAtATime) {
  absl::StatusOr<std::unique_ptr<SignalWatcher>> first =
      SignalWatcher::Start([](int) {});
  ASSERT_TRUE(first.ok()) << first.status();

  absl::StatusOr<std::unique_ptr<SignalWatcher>> second =
      SignalWatcher::Start([](int) {});

  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  first->reset();
  EXPECT_TRUE(SignalWatcher::Start([](int) {}).ok());
}

}  // namespace
}  // namespace attachd::client
