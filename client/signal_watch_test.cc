#include "client/signal_watch.h"

#include <signal.h>

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

TEST(TerminationSignalWatcher, ReportsSigtermAndSigintOnItsThread) {
  SignalLog log;
  absl::StatusOr<std::unique_ptr<TerminationSignalWatcher>> watcher =
      TerminationSignalWatcher::Start([&log](int signal) { log.Add(signal); });
  ASSERT_TRUE(watcher.ok()) << watcher.status();

  ASSERT_EQ(raise(SIGTERM), 0);
  log.WaitForCount(1);
  ASSERT_EQ(raise(SIGINT), 0);

  EXPECT_EQ(log.WaitForCount(2), (std::vector<int>{SIGTERM, SIGINT}));
  EXPECT_EQ((*watcher)->first_signal(), SIGTERM);
}

TEST(TerminationSignalWatcher, ReportsNothingWithoutASignal) {
  absl::StatusOr<std::unique_ptr<TerminationSignalWatcher>> watcher =
      TerminationSignalWatcher::Start([](int) { ADD_FAILURE(); });
  ASSERT_TRUE(watcher.ok()) << watcher.status();

  EXPECT_EQ((*watcher)->first_signal(), 0);
}

void RecordingHandler(int) {}

TEST(TerminationSignalWatcher, RestoresThePreviousDispositions) {
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, RecordingHandler);

  {
    absl::StatusOr<std::unique_ptr<TerminationSignalWatcher>> watcher =
        TerminationSignalWatcher::Start([](int) {});
    ASSERT_TRUE(watcher.ok()) << watcher.status();
  }

  struct sigaction sigint = {};
  struct sigaction sigterm = {};
  sigaction(SIGINT, nullptr, &sigint);
  sigaction(SIGTERM, nullptr, &sigterm);
  EXPECT_EQ(sigint.sa_handler, SIG_IGN);
  EXPECT_EQ(sigterm.sa_handler, RecordingHandler);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
}

TEST(TerminationSignalWatcher, AllowsOneWatcherAtATime) {
  absl::StatusOr<std::unique_ptr<TerminationSignalWatcher>> first =
      TerminationSignalWatcher::Start([](int) {});
  ASSERT_TRUE(first.ok()) << first.status();

  absl::StatusOr<std::unique_ptr<TerminationSignalWatcher>> second =
      TerminationSignalWatcher::Start([](int) {});

  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  first->reset();
  EXPECT_TRUE(TerminationSignalWatcher::Start([](int) {}).ok());
}

}  // namespace
}  // namespace attachd::client
