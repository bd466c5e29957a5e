#include "client/kill_command.h"

#include <signal.h>

#include <sstream>
#include <string>
#include <vector>

#include "attachd/v1/attachd.grpc.pb.h"
#include "client/command_env.h"
#include "client/fake_services.h"
#include "client/test_support.h"
#include "gtest/gtest.h"

namespace attachd::client {
namespace {

using ::attachd::v1::ExecService;
using ::attachd::v1::SignalRequest;

grpc::Status NoExec(grpc::ServerContext*, ExecServerStream*) {
  return grpc::Status(grpc::StatusCode::INTERNAL, "no Exec expected");
}

TEST(RunKill, SendsOneSignalRequestAndPrintsNothing) {
  std::vector<SignalRequest> received;
  ScriptedExecService service(NoExec, [&](const SignalRequest& request) {
    received.push_back(request);
    return grpc::Status::OK;
  });
  TestServer server({&service});
  auto stub = ExecService::NewStub(server.Connect());
  std::ostringstream out;
  std::ostringstream err;
  CommandEnv env{.socket_path = server.socket_path(), .out = &out, .err = &err};

  int status = RunKill(
      *stub, KillArgs{.container = "web", .pid = 4242, .signal = SIGTERM}, env);

  EXPECT_EQ(status, 0);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].container(), "web");
  EXPECT_EQ(received[0].pid(), 4242);
  EXPECT_EQ(received[0].signal(), SIGTERM);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(), "");
}

TEST(RunKill, DefaultsToSigkill) { EXPECT_EQ(KillArgs().signal, SIGKILL); }

TEST(RunKill, ReportsAFailureInOneLine) {
  struct Case {
    grpc::Status status;
    std::string line;
  };
  for (const Case& c : std::vector<Case>{
           {grpc::Status(grpc::StatusCode::NOT_FOUND,
                         "no detached command with pid 4242 in web"),
            "attachctl: kill 4242 in web: no detached command with pid 4242 "
            "in web"},
           {grpc::Status(grpc::StatusCode::UNIMPLEMENTED, ""),
            "attachctl: kill 4242 in web: this attachd does not serve that "
            "call (is it older than attachctl?)"},
       }) {
    SCOPED_TRACE(c.line);
    ScriptedExecService service(NoExec,
                                [&](const SignalRequest&) { return c.status; });
    TestServer server({&service});
    auto stub = ExecService::NewStub(server.Connect());
    std::ostringstream out;
    std::ostringstream err;
    CommandEnv env{
        .socket_path = server.socket_path(), .out = &out, .err = &err};

    int status = RunKill(*stub, KillArgs{.container = "web", .pid = 4242}, env);

    EXPECT_EQ(status, 1);
    EXPECT_EQ(err.str(), c.line + "\n");
    EXPECT_EQ(out.str(), "");
  }
}

}  // namespace
}  // namespace attachd::client
