// Runs the real attachd binary for a test, and talks to it over gRPC.
//
// DaemonProcess starts //daemon:attachd (a `data` dependency of the test)
// on a socket in a fresh temporary directory, waits until it answers, and
// stops it with SIGTERM when destroyed.  Its log goes to a file the test
// can read.  The helpers below run one RPC and return what a client sees.
//
// Threads: a DaemonProcess must be used from one thread at a time; the
// stubs it hands out are thread-safe.

#ifndef ATTACHD_TESTS_DAEMON_HARNESS_H_
#define ATTACHD_TESTS_DAEMON_HARNESS_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attachd/v1/attachd.grpc.pb.h"
#include "grpcpp/channel.h"
#include "gtest/gtest.h"

namespace attachd::testing {

// The path of a runfile of this test, e.g. "daemon/attachd", looked up as
// Bazel lays runfiles out ($TEST_SRCDIR/$TEST_WORKSPACE/...).
absl::StatusOr<std::string> RunfilePath(const std::string& relative);

class DaemonProcess {
 public:
  // Starts attachd with `flags` added to --socket.  FAILED_PRECONDITION
  // with the daemon's log if it exits or does not answer in 10 seconds.
  static absl::StatusOr<std::unique_ptr<DaemonProcess>> Start(
      const std::vector<std::string>& flags = {});
  ~DaemonProcess();

  pid_t pid() const { return pid_; }
  const std::string& socket_path() const { return socket_path_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  v1::ContainerService::Stub& containers() { return *containers_; }
  v1::ExecService::Stub& exec() { return *exec_; }

  // What the daemon logged so far.
  std::string Log() const;
  // How many descriptors the daemon has open.
  int OpenDescriptorCount() const;
  // The daemon's children (zombies included), from /proc/PID/task/*/children.
  std::vector<pid_t> Children() const;

  // Sends SIGTERM and waits; returns the exit status as waitpid reports it.
  absl::StatusOr<int> Stop();

 private:
  DaemonProcess() = default;

  pid_t pid_ = -1;
  std::string directory_;
  std::string socket_path_;
  std::string log_path_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ContainerService::Stub> containers_;
  std::unique_ptr<v1::ExecService::Stub> exec_;
};

// A fixture whose tests share one daemon, started before the suite's first
// test and stopped after its last (a daemon per test would cost a start
// and a stop each).  Tests reach it through daemon_, which is null if it
// did not start (SetUpTestSuite has then failed the suite).
class SharedDaemonTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();

  static DaemonProcess* daemon_;
};

// What a client of one Exec call saw.
struct ExecResult {
  grpc::Status status;
  std::optional<v1::Started> started;
  std::string stdout_bytes;
  std::string stderr_bytes;
  std::optional<v1::ExitStatus> exit;
  // Messages after `exit` (there must be none).
  int messages_after_exit = 0;
};

struct ExecCall {
  v1::ExecStart start;
  // Sent as stdin in 64 KiB messages, then stdin_close; requires
  // start.attach_stdin().
  std::string stdin_bytes;
  // Instead: send "y\n" lines as stdin until `exit` arrives, then
  // half-close (a client whose stdin never ends).
  bool endless_stdin = false;
  absl::Duration deadline = absl::Seconds(60);
};

// Runs one Exec call to its end.  Stdin is written from a second thread,
// so a command that writes before it reads cannot deadlock the test.
ExecResult RunExec(v1::ExecService::Stub& stub, const ExecCall& call);

// A Register call with the pid and start time of `pid`.
absl::StatusOr<v1::Container> RegisterPid(v1::ContainerService::Stub& stub,
                                          const std::string& name, pid_t pid);

// The whole contents of a file; "" if it cannot be read.
std::string ReadFile(const std::string& path);

// Field 22 (starttime) of /proc/PID/stat.  NOT_FOUND once it is reaped.
absl::StatusOr<uint64_t> StartTimeOf(pid_t pid);

// The call ended with OK and exit code `code`, and nothing came after it.
void ExpectExitCode(const ExecResult& result, int code);

// ExecStart for running `argv` in `container`.
v1::ExecStart MakeStart(const std::string& container,
                        const std::vector<std::string>& argv);

}  // namespace attachd::testing

#endif  // ATTACHD_TESTS_DAEMON_HARNESS_H_
