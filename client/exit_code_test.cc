#include "client/exit_code.h"

#include <errno.h>
#include <signal.h>

#include <string>
#include <vector>

#include "attachd/v1/attachd.pb.h"
#include "gtest/gtest.h"

namespace attachd::client {
namespace {

using ::attachd::v1::ExecError;
using ::attachd::v1::ExitStatus;

ExitStatus Code(int code) {
  ExitStatus exit;
  exit.set_code(code);
  return exit;
}

ExitStatus Signal(int signal) {
  ExitStatus exit;
  exit.set_signal(signal);
  return exit;
}

grpc::Status WithExecError(ExecError::Step step, int errno_value) {
  ExecError error;
  error.set_step(step);
  error.set_errno_value(errno_value);
  return grpc::Status(grpc::StatusCode::NOT_FOUND, "cannot start",
                      error.SerializeAsString());
}

struct Case {
  std::string name;
  ExecResult result;
  int exit_code;
};

ExecResult Exited(ExitStatus exit) {
  ExecResult result;
  result.exit = exit;
  return result;
}

ExecResult Failed(grpc::Status status, int interrupt_signal = 0) {
  ExecResult result;
  result.status = status;
  result.interrupt_signal = interrupt_signal;
  return result;
}

TEST(ExitCode, FollowsShellConventions) {
  const grpc::Status unavailable(grpc::StatusCode::UNAVAILABLE,
                                 "failed to connect to all addresses");
  const grpc::Status cancelled(grpc::StatusCode::CANCELLED, "Cancelled");
  std::vector<Case> cases = {
      {"code 0", Exited(Code(0)), 0},
      {"code 3", Exited(Code(3)), 3},
      {"code 255", Exited(Code(255)), 255},
      {"code 256 is a daemon bug", Exited(Code(256)), 1},
      {"code -1 is a daemon bug", Exited(Code(-1)), 1},
      {"signal 9", Exited(Signal(SIGKILL)), 137},
      {"signal 15", Exited(Signal(SIGTERM)), 143},
      {"signal 0 is a daemon bug", Exited(Signal(0)), 1},
      {"empty exit is a daemon bug", Exited(ExitStatus()), 1},
      {"ExecError ENOENT", Failed(WithExecError(ExecError::STEP_EXEC, ENOENT)),
       127},
      {"ExecError EACCES", Failed(WithExecError(ExecError::STEP_EXEC, EACCES)),
       126},
      {"ExecError ENOENT at cwd",
       Failed(WithExecError(ExecError::STEP_CWD, ENOENT)), 126},
      {"ExecError attach EPERM",
       Failed(WithExecError(ExecError::STEP_ATTACH, EPERM)), 126},
      {"NOT_FOUND without details",
       Failed(grpc::Status(grpc::StatusCode::NOT_FOUND, "no container web")),
       1},
      {"FAILED_PRECONDITION",
       Failed(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                           "container web exited")),
       1},
      {"UNAVAILABLE", Failed(unavailable), 1},
      {"OK without exit is a daemon bug", Failed(grpc::Status::OK), 1},
      {"interrupted by SIGINT", Failed(cancelled, SIGINT), 130},
      {"interrupted by SIGTERM", Failed(cancelled, SIGTERM), 143},
      {"interrupted by SIGHUP", Failed(cancelled, SIGHUP), 129},
  };

  ExitStatus timed_out = Signal(SIGKILL);
  timed_out.set_timed_out(true);
  cases.push_back({"killed by its timeout", Exited(timed_out), 124});
  ExitStatus exited_at_timeout = Code(0);
  exited_at_timeout.set_timed_out(true);
  cases.push_back(
      {"timed out even if it then exited 0", Exited(exited_at_timeout), 124});

  ExecResult exited_then_interrupted = Exited(Code(4));
  exited_then_interrupted.interrupt_signal = SIGINT;
  cases.push_back(
      {"exit wins over a late interrupt", exited_then_interrupted, 4});

  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(ExitCodeFor(c.result), c.exit_code);
  }
}

TEST(ExitCode, IgnoresDetailsThatAreNotAnExecError) {
  struct DetailsCase {
    std::string name;
    std::string details;
  };
  ExecError unspecified;
  unspecified.set_errno_value(ENOENT);
  ExecError unknown_step;
  unknown_step.set_step(static_cast<ExecError::Step>(99));
  // A google.rpc.Status {code: 5, message: "x"}: field 1 parses as a step.
  std::string rpc_status = std::string("\x08\x05\x12\x01x", 5);

  for (const DetailsCase& c : std::vector<DetailsCase>{
           {"garbage", "\xff\xff\xff"},
           {"unspecified step", unspecified.SerializeAsString()},
           {"unknown step", unknown_step.SerializeAsString()},
           {"google.rpc.Status", rpc_status}}) {
    SCOPED_TRACE(c.name);
    grpc::Status status(grpc::StatusCode::NOT_FOUND, "no", c.details);

    EXPECT_FALSE(ExecErrorOf(status).has_value());
    EXPECT_EQ(ExitCodeFor(Failed(status)), 1);
  }
}

}  // namespace
}  // namespace attachd::client
