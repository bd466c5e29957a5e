// attachd under a service manager: the test binds its own NOTIFY_SOCKET,
// as systemd does for Type=notify, and reads what attachd says there.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/daemon_harness.h"
#include "tests/test_container.h"

namespace attachd::testing {
namespace {

// A datagram socket playing the service manager's end of NOTIFY_SOCKET.
class NotifySocket {
 public:
  NotifySocket() {
    char directory[] = "/tmp/attachd-notify-XXXXXX";
    EXPECT_NE(mkdtemp(directory), nullptr);
    directory_ = directory;
    path_ = directory_ + "/notify";
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    snprintf(address.sun_path, sizeof(address.sun_path), "%s", path_.c_str());
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
              0);
  }
  ~NotifySocket() {
    close(fd_);
    RemoveTree(directory_).IgnoreError();
  }

  const std::string& path() const { return path_; }

  // The next message, or nullopt after `timeout`.
  std::optional<std::string> Next(absl::Duration timeout) {
    struct pollfd poll_fd = {fd_, POLLIN, 0};
    if (poll(&poll_fd, 1, absl::ToInt64Milliseconds(timeout)) <= 0) {
      return std::nullopt;
    }
    char buffer[4096];
    ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
    if (n < 0) {
      return std::nullopt;
    }
    return std::string(buffer, n);
  }

  // Skips messages until one equal to `wanted` arrives; false after
  // `timeout`.
  bool WaitFor(const std::string& wanted, absl::Duration timeout) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      std::optional<std::string> message = Next(deadline - absl::Now());
      if (message.has_value() && *message == wanted) {
        return true;
      }
    }
    return false;
  }

 private:
  std::string directory_;
  std::string path_;
  int fd_ = -1;
};

TEST(ServiceManager, ReadyStatusWatchdogAndStopping) {
  NotifySocket manager;
  setenv("NOTIFY_SOCKET", manager.path().c_str(), 1);
  setenv("WATCHDOG_USEC", "400000", 1);
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start();
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  ASSERT_TRUE(daemon.ok()) << daemon.status();

  // READY comes once the socket serves, with the first status.
  std::optional<std::string> first = manager.Next(absl::Seconds(5));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, "READY=1\nSTATUS=serving 0 containers");

  // WatchdogSec=0.4s: fed every 0.2 s.
  EXPECT_TRUE(manager.WaitFor("WATCHDOG=1", absl::Seconds(2)));
  EXPECT_TRUE(manager.WaitFor("WATCHDOG=1", absl::Seconds(2)));

  absl::StatusOr<TestContainer> container = TestContainer::Start();
  ASSERT_TRUE(container.ok()) << container.status();
  ASSERT_TRUE(
      RegisterPid((*daemon)->containers(), "notified", container->pid()).ok());
  EXPECT_TRUE(manager.WaitFor("STATUS=serving 1 container", absl::Seconds(3)));

  absl::StatusOr<int> stopped = (*daemon)->Stop();
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(*stopped, 0);
  EXPECT_TRUE(manager.WaitFor("STOPPING=1", absl::Seconds(1)));
}

TEST(ServiceManager, NoWatchdogMessagesWithoutWatchdogSec) {
  NotifySocket manager;
  setenv("NOTIFY_SOCKET", manager.path().c_str(), 1);
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start();
  unsetenv("NOTIFY_SOCKET");
  ASSERT_TRUE(daemon.ok()) << daemon.status();

  std::optional<std::string> first = manager.Next(absl::Seconds(5));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, "READY=1\nSTATUS=serving 0 containers");
  EXPECT_FALSE(manager.Next(absl::Milliseconds(1500)).has_value());
}

// Writes `text` to a new file and returns its path; removed with `dir`.
std::string WriteConfig(const std::string& dir, const std::string& text) {
  std::string path = dir + "/attachd.conf";
  FILE* file = fopen(path.c_str(), "w");
  fputs(text.c_str(), file);
  fclose(file);
  return path;
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char directory[] = "/tmp/attachd-config-XXXXXX";
    ASSERT_NE(mkdtemp(directory), nullptr);
    directory_ = directory;
  }
  void TearDown() override { RemoveTree(directory_).IgnoreError(); }

  std::string directory_;
};

TEST_F(ConfigFileTest, LimitsAndDefaultTimeoutComeFromTheFile) {
  std::string path = WriteConfig(directory_,
                                 "max_concurrent_execs: 1\n"
                                 "default_exec_timeout { nanos: 600000000 }\n");
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start({"--config", path});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  absl::StatusOr<TestContainer> container = TestContainer::Start();
  ASSERT_TRUE(container.ok()) << container.status();
  ASSERT_TRUE(
      RegisterPid((*daemon)->containers(), "configured", container->pid())
          .ok());

  // One exec holds the only place; a second is refused meanwhile.
  grpc::ClientContext context;
  auto stream = (*daemon)->exec().Exec(&context);
  v1::ExecRequest first;
  *first.mutable_start() = MakeStart("configured", {"sleep", "100"});
  ASSERT_TRUE(stream->Write(first));
  v1::ExecResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ExecResult refused =
      RunExec((*daemon)->exec(), {MakeStart("configured", {"true"})});
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(refused.status.error_message(),
            "attachd runs its limit of 1 execs (max_concurrent_execs); "
            "retry later");

  // The held exec has no timeout of its own: the file's 0.6 s applies.
  while (stream->Read(&response) && !response.has_exit()) {
  }
  ASSERT_TRUE(response.has_exit());
  EXPECT_TRUE(response.exit().timed_out());
  EXPECT_EQ(response.exit().signal(), SIGKILL);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());

  // The place is free again.
  ExecResult after =
      RunExec((*daemon)->exec(), {MakeStart("configured", {"true"})});
  EXPECT_TRUE(after.status.ok()) << after.status.error_message();
}

TEST_F(ConfigFileTest, ABadFileStopsTheDaemonWithItsLineAndColumn) {
  std::string path = WriteConfig(directory_, "sockett: \"/x\"\n");
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start({"--config", path});
  ASSERT_FALSE(daemon.ok());
  EXPECT_THAT(std::string(daemon.status().message()),
              ::testing::HasSubstr(absl::StrCat(
                  "config ", path,
                  ":1:8: Message type \"attachd.v1.DaemonConfig\" has no "
                  "field named \"sockett\".")));
}

}  // namespace
}  // namespace attachd::testing
