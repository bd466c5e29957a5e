#include "client/fd_io.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "client/test_support.h"
#include "common/unique_fd.h"
#include "gtest/gtest.h"

namespace attachd::client {
namespace {

struct Pipe {
  common::UniqueFd read_end;
  common::UniqueFd write_end;
};

Pipe MakePipe() {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  return {common::UniqueFd(fds[0]), common::UniqueFd(fds[1])};
}

TEST(WriteAll, WritesEverythingToAFullNonBlockingPipe) {
  Pipe pipe = MakePipe();
  ASSERT_EQ(fcntl(pipe.write_end.get(), F_SETFL, O_NONBLOCK), 0);
  std::string data = PatternBytes(1024 * 1024 + 3);

  std::string received;
  std::thread reader([&] {
    char buffer[4096];
    ssize_t count;
    while ((count = read(pipe.read_end.get(), buffer, sizeof(buffer))) > 0) {
      received.append(buffer, static_cast<size_t>(count));
      usleep(10);
    }
  });
  absl::Status status = WriteAll(pipe.write_end.get(), data);
  pipe.write_end.reset();
  reader.join();

  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(received, data);
}

TEST(WriteAll, ReportsAVanishedReaderAsFailedPrecondition) {
  signal(SIGPIPE, SIG_IGN);
  Pipe pipe = MakePipe();
  pipe.read_end.reset();

  absl::Status status = WriteAll(pipe.write_end.get(), "lost");

  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      status.message(),
      "write(fd " + std::to_string(pipe.write_end.get()) + "): Broken pipe");
}

TEST(WriteAll, ReportsOtherErrorsAsInternal) {
  Pipe pipe = MakePipe();

  absl::Status status = WriteAll(pipe.read_end.get(), "wrong end");

  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(status.message(), "write(fd " +
                                  std::to_string(pipe.read_end.get()) +
                                  "): Bad file descriptor");
}

TEST(WriteAll, SucceedsAtOnceForNothing) { EXPECT_TRUE(WriteAll(-1, "").ok()); }

}  // namespace
}  // namespace attachd::client
