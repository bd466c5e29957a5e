#include "daemon/process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace attachd::daemon {
namespace {

TEST(Process, ParsesStartTimeAfterTheLastParenthesis) {
  // A process may name itself ") S 1 2 3": only the last ')' ends comm.
  std::string stat =
      "42 (evil) S 1 2 3) R 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 "
      "0 987654 10000 200";
  absl::StatusOr<uint64_t> start = ParseStartTime(stat);
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_EQ(*start, 987654u);
}

TEST(Process, RejectsTruncatedStat) {
  EXPECT_FALSE(ParseStartTime("42 (x) S 1 2").ok());
  EXPECT_FALSE(ParseStartTime("no parenthesis").ok());
}

TEST(Process, OwnStartTimeMatchesProcfs) {
  absl::StatusOr<Pidfd> self = OpenPidfd(getpid());
  ASSERT_TRUE(self.ok()) << self.status();
  absl::StatusOr<uint64_t> start = ReadStartTime(*self, getpid());
  ASSERT_TRUE(start.ok()) << start.status();
  absl::StatusOr<std::string> stat = ReadFileToString("/proc/self/stat");
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(*start, *ParseStartTime(*stat));
}

TEST(Process, OpenPidfdRejectsBadPids) {
  EXPECT_TRUE(absl::IsInvalidArgument(OpenPidfd(0).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(OpenPidfd(-5).status()));
  // The largest pid the kernel can hand out is below 2^22.
  EXPECT_TRUE(absl::IsNotFound(OpenPidfd(1 << 30).status()));
}

TEST(Process, CheckAliveSeesTheProcessGoOnlyOnceReaped) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  absl::StatusOr<Pidfd> pidfd = OpenPidfd(child);
  ASSERT_TRUE(pidfd.ok()) << pidfd.status();
  EXPECT_TRUE(CheckAlive(*pidfd).ok());

  kill(child, SIGKILL);
  siginfo_t info;
  ASSERT_EQ(waitid(P_PID, child, &info, WEXITED | WNOWAIT), 0);
  EXPECT_TRUE(CheckAlive(*pidfd).ok()) << "a zombie still holds its pid";

  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  EXPECT_TRUE(absl::IsNotFound(CheckAlive(*pidfd)));
  EXPECT_TRUE(absl::IsNotFound(ReadProcFile(*pidfd, child, "cgroup").status()));
}

}  // namespace
}  // namespace attachd::daemon
