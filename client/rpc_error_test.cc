#include "client/rpc_error.h"

#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace attachd::client {
namespace {

constexpr char kSocket[] = "/nonexistent/attachd.sock";

TEST(RpcErrorLine, NamesWhatFailedAndTheDaemonsMessage) {
  struct Case {
    grpc::Status status;
    bool daemon_answered;
    std::string line;
  };
  for (const Case& c : std::vector<Case>{
           {grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                         "container web exited"),
            false, "attachctl: exec in web: container web exited"},
           {grpc::Status(grpc::StatusCode::NOT_FOUND, "no container web"),
            false, "attachctl: exec in web: no container web"},
           {grpc::Status(grpc::StatusCode::UNAVAILABLE,
                         "failed to connect to all addresses"),
            false,
            "attachctl: cannot connect to attachd at "
            "/nonexistent/attachd.sock: is the daemon running?"},
           {grpc::Status(grpc::StatusCode::UNAVAILABLE, "Socket closed"), true,
            "attachctl: exec in web: Socket closed"},
           {grpc::Status(grpc::StatusCode::UNAVAILABLE, ""), true,
            "attachctl: exec in web: lost the connection to attachd"},
           {grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, ""), false,
            "attachctl: exec in web: attachd did not answer in time"},
           {grpc::Status(grpc::StatusCode::UNIMPLEMENTED, ""), true,
            "attachctl: exec in web: this attachd does not serve that call "
            "(is it older than attachctl?)"},
           {grpc::Status(grpc::StatusCode::INTERNAL, "two\nlines\r\n"), false,
            "attachctl: exec in web: two lines  "},
       }) {
    SCOPED_TRACE(c.line);
    EXPECT_EQ(RpcErrorLine("exec in web", c.status, kSocket, c.daemon_answered),
              c.line);
  }
}

// Runs ConnectErrorLine(socket_path) as uid and gid 65534 in a child, since
// this test usually runs as root, whom access(2) never refuses.  Returns
// nullopt if the child cannot drop to that uid (as in a user namespace
// that does not map it).
std::optional<std::string> ConnectErrorLineAsNobody(
    const std::string& socket_path) {
  int pipe_fds[2];
  EXPECT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  pid_t child = fork();
  if (child == 0) {
    close(pipe_fds[0]);
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 ||
        setuid(65534) != 0) {
      _exit(2);
    }
    std::string line = ConnectErrorLine(socket_path);
    _exit(write(pipe_fds[1], line.data(), line.size()) ==
                  static_cast<ssize_t>(line.size())
              ? 0
              : 1);
  }

  close(pipe_fds[1]);
  std::string line;
  char buffer[512];
  ssize_t count;
  while ((count = read(pipe_fds[0], buffer, sizeof(buffer))) > 0) {
    line.append(buffer, static_cast<size_t>(count));
  }
  close(pipe_fds[0]);
  int status = 0;
  EXPECT_EQ(waitpid(child, &status, 0), child);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
    return std::nullopt;
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return line;
}

TEST(ConnectErrorLine, SaysPermissionDeniedForASocketTheUserCannotOpen) {
  char directory[] = "/tmp/attachctl-rpc-error.XXXXXX";
  ASSERT_NE(mkdtemp(directory), nullptr);
  ASSERT_EQ(chmod(directory, 0755), 0);
  std::string socket_path = std::string(directory) + "/attachd.sock";
  ASSERT_EQ(mknod(socket_path.c_str(), S_IFREG | 0600, 0), 0);

  std::optional<std::string> line;
  if (geteuid() == 0) {
    line = ConnectErrorLineAsNobody(socket_path);
  } else {
    ASSERT_EQ(chmod(socket_path.c_str(), 0400), 0);
    line = ConnectErrorLine(socket_path);
  }

  unlink(socket_path.c_str());
  rmdir(directory);
  if (!line.has_value()) {
    GTEST_SKIP() << "cannot drop to uid 65534 here";
  }
  EXPECT_EQ(*line, "attachctl: cannot connect to attachd at " + socket_path +
                       ": permission denied");
}

TEST(ConnectErrorLine, AsksWhetherTheDaemonRunsWhenTheSocketIsMissing) {
  EXPECT_EQ(ConnectErrorLine(kSocket),
            "attachctl: cannot connect to attachd at "
            "/nonexistent/attachd.sock: is the daemon running?");
}

}  // namespace
}  // namespace attachd::client
