// `attachctl exec -it` on a real terminal: tmux runs attachctl against the
// real daemon and a real container, and the test reads what the screen
// shows after each keystroke: the initial size, a resize, Ctrl-C ending a
// command, and the terminal as it was after attachctl exits.

#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/daemon_harness.h"
#include "tests/test_container.h"

namespace attachd::testing {
namespace {

constexpr char kSession[] = "attachctl";

// The screen's lines without trailing blanks.
std::vector<std::string> Lines(const std::string& screen) {
  std::vector<std::string> lines = absl::StrSplit(screen, '\n');
  for (std::string& line : lines) {
    line = std::string(absl::StripTrailingAsciiWhitespace(line));
  }
  return lines;
}

bool HasLine(const std::string& screen, const std::string& wanted) {
  for (const std::string& line : Lines(screen)) {
    if (line == wanted) {
      return true;
    }
  }
  return false;
}

// One tmux server on a private socket, killed with everything in it at the
// end of the test.
class TtyCliTest : public SharedDaemonTest {
 protected:
  void SetUp() override {
    char directory[] = "/tmp/attachctl-tty-XXXXXX";
    ASSERT_NE(mkdtemp(directory), nullptr);
    directory_ = directory;
    socket_ = directory_ + "/tmux.sock";
    absl::StatusOr<std::string> attachctl = RunfilePath("client/attachctl");
    ASSERT_TRUE(attachctl.ok()) << attachctl.status();
    attachctl_ = *attachctl;
  }

  void TearDown() override {
    RunCommand({"tmux", "-S", socket_, "kill-server"}).IgnoreError();
    RemoveTree(directory_).IgnoreError();
  }

  // Whether the daemon starts a command on a terminal in `container`.
  bool DaemonServesTty(const std::string& container) {
    ExecCall call;
    call.start = MakeStart(container, {"true"});
    call.start.set_tty(true);
    call.start.mutable_window_size()->set_rows(24);
    call.start.mutable_window_size()->set_columns(80);
    ExecResult result = RunExec(daemon_->exec(), call);
    EXPECT_TRUE(result.status.ok()) << result.status.error_message();
    return result.status.ok();
  }

  absl::StatusOr<std::string> Tmux(std::vector<std::string> args) {
    args.insert(args.begin(), {"tmux", "-S", socket_});
    return RunCommand(args, absl::Seconds(10));
  }

  void SendKeys(const std::vector<std::string>& keys) {
    std::vector<std::string> args = {"send-keys", "-t", kSession};
    args.insert(args.end(), keys.begin(), keys.end());
    absl::StatusOr<std::string> sent = Tmux(args);
    ASSERT_TRUE(sent.ok()) << sent.status();
  }

  std::string Screen() {
    absl::StatusOr<std::string> screen =
        Tmux({"capture-pane", "-p", "-t", kSession});
    return screen.ok() ? *screen : "";
  }

  // Polls the screen until `done` holds of it or `limit` passes; returns
  // the last screen seen.
  std::string WaitForScreen(const std::function<bool(const std::string&)>& done,
                            absl::Duration limit) {
    absl::Time deadline = absl::Now() + limit;
    std::string screen = Screen();
    while (!done(screen) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(50));
      screen = Screen();
    }
    return screen;
  }

  std::string WaitForLine(const std::string& line,
                          absl::Duration limit = absl::Seconds(10)) {
    return WaitForScreen(
        [&](const std::string& screen) { return HasLine(screen, line); },
        limit);
  }

  std::string directory_;
  std::string socket_;
  std::string attachctl_;
};

TEST_F(TtyCliTest, ShellSeesTheSizeAResizeAndCtrlCThenTheTerminalIsRestored) {
  absl::StatusOr<TestContainer> container = TestContainer::Start();
  ASSERT_TRUE(container.ok()) << container.status();
  ASSERT_TRUE(
      RegisterPid(daemon_->containers(), "tty-cli", container->pid()).ok());
  ASSERT_TRUE(DaemonServesTty("tty-cli"));

  // The pane's shell records the terminal's settings before and after
  // attachctl, and its status, then waits to be read.
  std::string pane_command = absl::StrCat(
      "stty -g > ", directory_, "/before; '", attachctl_, "' --socket '",
      daemon_->socket_path(), "' exec -it tty-cli -- sh; echo \"attachctl-",
      "exit=$?\"; stty -g > ", directory_, "/after; sleep 1000");
  absl::StatusOr<std::string> started =
      Tmux({"new-session", "-d", "-x", "100", "-y", "30", "-s", kSession, "sh",
            "-c", pane_command});
  ASSERT_TRUE(started.ok()) << started.status();

  // Typed only once the shell runs, so that no key meets the terminal
  // before attachctl has put it in raw mode.
  std::string screen = WaitForScreen(
      [](const std::string& screen) {
        return absl::StrContains(screen, "built-in shell");
      },
      absl::Seconds(10));
  ASSERT_TRUE(absl::StrContains(screen, "built-in shell")) << screen;
  SendKeys({"stty size", "Enter"});
  screen = WaitForLine("30 100");
  EXPECT_TRUE(HasLine(screen, "30 100")) << screen;

  ASSERT_TRUE(
      Tmux({"resize-window", "-t", kSession, "-x", "120", "-y", "40"}).ok());
  SendKeys({"stty size", "Enter"});
  screen = WaitForLine("40 120");
  EXPECT_TRUE(HasLine(screen, "40 120")) << screen;

  // Arithmetic, so that the line waited for is output, not the echo of
  // what was typed.
  SendKeys({"echo sleeping-$((2*3)); sleep 100", "Enter"});
  screen = WaitForLine("sleeping-6");
  ASSERT_TRUE(HasLine(screen, "sleeping-6")) << screen;
  absl::SleepFor(absl::Milliseconds(200));  // For sleep to be exec'd.
  SendKeys({"C-c"});
  SendKeys({"echo after-$((6*7))", "Enter"});
  screen = WaitForLine("after-42", absl::Seconds(2));
  EXPECT_TRUE(HasLine(screen, "after-42")) << screen;
  EXPECT_TRUE(absl::StrContains(screen, "^C")) << screen;

  SendKeys({"exit 3", "Enter"});
  screen = WaitForLine("attachctl-exit=3");
  EXPECT_TRUE(HasLine(screen, "attachctl-exit=3")) << screen;
  std::string after_path = directory_ + "/after";
  WaitForScreen(
      [&](const std::string&) { return !ReadFile(after_path).empty(); },
      absl::Seconds(5));
  EXPECT_EQ(ReadFile(after_path), ReadFile(directory_ + "/before"));
}

}  // namespace
}  // namespace attachd::testing

namespace attachd::testing {
namespace {

// Without a terminal: `attachctl exec ... | head` ends when head does, as
// a local command would (SIGPIPE, 141), and the command is killed.
TEST_F(TtyCliTest, ClosedOutputPipeEndsTheExecAndKillsTheCommand) {
  absl::StatusOr<TestContainer> container = TestContainer::Start();
  ASSERT_TRUE(container.ok()) << container.status();
  ASSERT_TRUE(
      RegisterPid(daemon_->containers(), "pipe-cli", container->pid()).ok());
  std::string attachctl =
      absl::StrCat(attachctl_, " --socket ", daemon_->socket_path());

  absl::StatusOr<std::string> output = RunCommand(
      {"bash", "-c",
       absl::StrCat(attachctl, " exec pipe-cli -- yes | head -c 10; ",
                    "echo \" rc=${PIPESTATUS[0]}\"")},
      absl::Seconds(20));
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_EQ(*output, "y\ny\ny\ny\ny\n rc=141\n");

  // `pidof yes` inside exits 1 once no yes is left.
  absl::StatusOr<std::string> left;
  for (int i = 0; i < 40; ++i) {
    left = RunCommand({"bash", "-c",
                       absl::StrCat(attachctl, " exec pipe-cli -- pidof yes; ",
                                    "echo rc=$?")});
    if (left.ok() && *left == "rc=1\n") {
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_EQ(*left, "rc=1\n");
}

}  // namespace
}  // namespace attachd::testing
