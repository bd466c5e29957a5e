#include "client/terminal.h"

#include <pty.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "client/test_support.h"
#include "common/unique_fd.h"
#include "gtest/gtest.h"

namespace attachd::client {
namespace {

// A pseudo-terminal pair, sized `rows` x `columns` (0 x 0 leaves it as the
// kernel makes it).
struct Pty {
  common::UniqueFd master;
  common::UniqueFd slave;
};

Pty OpenPty(uint16_t rows, uint16_t columns) {
  int master = -1;
  int slave = -1;
  struct winsize size = {};
  size.ws_row = rows;
  size.ws_col = columns;
  EXPECT_EQ(openpty(&master, &slave, nullptr, nullptr, &size), 0)
      << strerror(errno);
  return {common::UniqueFd(master), common::UniqueFd(slave)};
}

struct termios TermiosOf(int fd) {
  struct termios termios = {};
  EXPECT_EQ(tcgetattr(fd, &termios), 0) << strerror(errno);
  return termios;
}

void ExpectSameTermios(const struct termios& actual,
                       const struct termios& expected) {
  EXPECT_EQ(actual.c_iflag, expected.c_iflag);
  EXPECT_EQ(actual.c_oflag, expected.c_oflag);
  EXPECT_EQ(actual.c_cflag, expected.c_cflag);
  EXPECT_EQ(actual.c_lflag, expected.c_lflag);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(actual.c_cc), NCCS),
            std::string(reinterpret_cast<const char*>(expected.c_cc), NCCS));
}

void ExpectRaw(const struct termios& termios) {
  EXPECT_EQ(termios.c_lflag & (ICANON | ECHO | ISIG | IEXTEN), 0u);
  EXPECT_EQ(termios.c_iflag & (ICRNL | IXON | BRKINT), 0u);
  EXPECT_EQ(termios.c_oflag & OPOST, 0u);
  EXPECT_EQ(termios.c_cc[VMIN], 1);
}

TEST(TerminalSizeOf, ReadsThePtySizeAndNothingElse) {
  Pty sized = OpenPty(30, 100);
  Pty unsized = OpenPty(0, 0);
  common::UniqueFd file = MemfdWithContents("");

  EXPECT_EQ(TerminalSizeOf(sized.slave.get()), (TerminalSize{30, 100}));
  EXPECT_EQ(TerminalSizeOf(sized.master.get()), (TerminalSize{30, 100}));
  EXPECT_EQ(TerminalSizeOf(unsized.slave.get()), std::nullopt);
  EXPECT_EQ(TerminalSizeOf(file.get()), std::nullopt);
  EXPECT_EQ(TerminalSizeOf(-1), std::nullopt);
}

TEST(LocalTerminalSize, PrefersStdoutThenStdinThen24By80) {
  Pty big = OpenPty(40, 120);
  Pty small = OpenPty(10, 20);
  Pty unsized = OpenPty(0, 0);
  common::UniqueFd file = MemfdWithContents("");
  struct Case {
    std::string name;
    int stdin_fd;
    int stdout_fd;
    TerminalSize size;
  };
  for (const Case& c : std::vector<Case>{
           {"both terminals", small.slave.get(), big.slave.get(), {40, 120}},
           {"stdout only", file.get(), big.slave.get(), {40, 120}},
           {"stdin only", small.slave.get(), file.get(), {10, 20}},
           {"unsized stdout", small.slave.get(), unsized.slave.get(), {10, 20}},
           {"no terminal", file.get(), file.get(), {24, 80}},
       }) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(LocalTerminalSize(c.stdin_fd, c.stdout_fd), c.size);
  }
}

TEST(RawTerminalMode, IsRawWhileAliveAndRestoredAfter) {
  Pty pty = OpenPty(24, 80);
  struct termios before = TermiosOf(pty.slave.get());
  ASSERT_NE(before.c_lflag & ISIG, 0u);

  {
    absl::StatusOr<std::unique_ptr<RawTerminalMode>> raw =
        RawTerminalMode::Enter(pty.slave.get());
    ASSERT_TRUE(raw.ok()) << raw.status();
    ExpectRaw(TermiosOf(pty.slave.get()));
  }

  ExpectSameTermios(TermiosOf(pty.slave.get()), before);
}

TEST(RawTerminalMode, RefusesWhatIsNotATerminalAndASecondTerminal) {
  common::UniqueFd file = MemfdWithContents("");
  absl::StatusOr<std::unique_ptr<RawTerminalMode>> on_file =
      RawTerminalMode::Enter(file.get());
  EXPECT_EQ(on_file.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(on_file.status().message(),
            "tcgetattr(fd " + std::to_string(file.get()) +
                "): Inappropriate ioctl for device");

  Pty first = OpenPty(24, 80);
  Pty second = OpenPty(24, 80);
  struct termios second_before = TermiosOf(second.slave.get());
  absl::StatusOr<std::unique_ptr<RawTerminalMode>> raw =
      RawTerminalMode::Enter(first.slave.get());
  ASSERT_TRUE(raw.ok()) << raw.status();
  absl::StatusOr<std::unique_ptr<RawTerminalMode>> again =
      RawTerminalMode::Enter(second.slave.get());

  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.status().message(),
            "a terminal is already in raw mode in this process");
  ExpectSameTermios(TermiosOf(second.slave.get()), second_before);
}

// exit() skips destructors of objects on the stack; the atexit handler
// restores the terminal.  In a child, so that the test process's own
// state (its raw-mode record, its atexit list) is untouched.
TEST(RawTerminalMode, IsRestoredWhenTheProcessCallsExit) {
  Pty pty = OpenPty(24, 80);
  struct termios before = TermiosOf(pty.slave.get());

  pid_t child = fork();
  ASSERT_GE(child, 0) << strerror(errno);
  if (child == 0) {
    absl::StatusOr<std::unique_ptr<RawTerminalMode>> raw =
        RawTerminalMode::Enter(pty.slave.get());
    if (!raw.ok()) {
      _exit(2);
    }
    struct termios during = {};
    tcgetattr(pty.slave.get(), &during);
    exit((during.c_lflag & ICANON) == 0 ? 3 : 4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);

  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  ExpectSameTermios(TermiosOf(pty.slave.get()), before);
}

}  // namespace
}  // namespace attachd::client
