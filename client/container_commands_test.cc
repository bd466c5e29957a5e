#include "client/container_commands.h"

#include <signal.h>

#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "attachd/v1/attachd.grpc.pb.h"
#include "client/fake_services.h"
#include "client/test_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attachd::client {
namespace {

using ::attachd::v1::Container;
using ::attachd::v1::ContainerService;
using ::attachd::v1::Event;
using ::testing::StartsWith;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

Container Running(const std::string& name, int pid) {
  Container container;
  container.set_name(name);
  container.set_pid(pid);
  container.set_state(Container::STATE_RUNNING);
  attachd::v1::Namespace* ns = container.add_namespaces();
  ns->set_type(attachd::v1::NAMESPACE_TYPE_PID);
  ns->set_joined(true);
  container.mutable_registered_at()->set_seconds(
      absl::ToUnixSeconds(kNow - absl::Seconds(90)));
  return container;
}

Event MakeEvent(Event::Type type, const std::string& name, int pid) {
  Event event;
  event.set_type(type);
  *event.mutable_container() = Running(name, pid);
  event.mutable_time()->set_seconds(absl::ToUnixSeconds(kNow));
  return event;
}

// Runs commands against a FakeContainerService and captures their output.
class ContainerCommandsTest : public ::testing::Test {
 protected:
  CommandEnv Env() {
    return CommandEnv{
        .socket_path = server_.socket_path(), .out = &out_, .err = &err_};
  }

  FakeContainerService service_;
  TestServer server_{{&service_}};
  std::unique_ptr<ContainerService::Stub> stub_ =
      ContainerService::NewStub(server_.Connect());
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(ContainerCommandsTest, RegisterPrintsTheNameAndSendsStartTimeOnlyIfSet) {
  RegisterArgs with_start_time{.name = "web", .pid = 42, .start_time = 777};
  RegisterArgs without{.name = "db", .pid = 43, .start_time = std::nullopt};

  EXPECT_EQ(RunRegister(*stub_, with_start_time, Env()), 0);
  ASSERT_TRUE(service_.last_register_request().has_value());
  EXPECT_TRUE(service_.last_register_request()->has_start_time());
  EXPECT_EQ(service_.last_register_request()->start_time(), 777u);
  EXPECT_EQ(RunRegister(*stub_, without, Env()), 0);
  EXPECT_FALSE(service_.last_register_request()->has_start_time());
  EXPECT_EQ(out_.str(), "web\ndb\n");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(ContainerCommandsTest, RegisterReportsATakenName) {
  service_.Add(Running("web", 1));

  EXPECT_EQ(
      RunRegister(*stub_, {.name = "web", .pid = 42, .start_time = {}}, Env()),
      1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(),
            "attachctl: register web: container web already exists\n");
}

TEST_F(ContainerCommandsTest, ListPrintsATableNamesOrJson) {
  service_.Add(Running("web", 42));
  service_.Add(Running("db", 7));

  EXPECT_EQ(RunList(*stub_, ListFormat::kTable, kNow, Env()), 0);
  EXPECT_EQ(out_.str(),
            "NAME   PID   STATE     NAMESPACES   REGISTERED\n"
            "db     7     running   pid          1 minute ago\n"
            "web    42    running   pid          1 minute ago\n");
  out_.str("");
  EXPECT_EQ(RunList(*stub_, ListFormat::kNames, kNow, Env()), 0);
  EXPECT_EQ(out_.str(), "db\nweb\n");
  out_.str("");
  EXPECT_EQ(RunList(*stub_, ListFormat::kJson, kNow, Env()), 0);
  EXPECT_THAT(out_.str(),
              StartsWith("{\n \"containers\": [\n  {\n   \"name\": "));
  EXPECT_EQ(err_.str(), "");
}

TEST_F(ContainerCommandsTest, InspectPrintsJsonOrReportsAMissingName) {
  service_.Add(Running("web", 42));

  EXPECT_EQ(RunInspect(*stub_, "web", Env()), 0);
  EXPECT_EQ(RunInspect(*stub_, "nosuch", Env()), 1);
  EXPECT_THAT(out_.str(), StartsWith("{\n \"name\": \"web\",\n"));
  EXPECT_EQ(err_.str(),
            "attachctl: inspect nosuch: no container named nosuch\n");
}

TEST_F(ContainerCommandsTest, RemoveGoesOnPastAMissingName) {
  service_.Add(Running("web", 42));
  service_.Add(Running("db", 7));
  service_.Add(Running("cache", 9));

  EXPECT_EQ(RunRemove(*stub_, {"web", "nosuch", "db"}, Env()), 1);
  EXPECT_EQ(out_.str(), "web\ndb\n");
  EXPECT_EQ(err_.str(), "attachctl: rm nosuch: no container named nosuch\n");
  EXPECT_EQ(service_.Names(), std::vector<std::string>{"cache"});
}

TEST(ContainerCommands, ReportAnUnreachableDaemonOnce) {
  const std::string socket_path = "/nonexistent/attachd.sock";
  auto stub = ContainerService::NewStub(grpc::CreateChannel(
      "unix:" + socket_path, grpc::InsecureChannelCredentials()));
  std::ostringstream out;
  std::ostringstream err;
  CommandEnv env{.socket_path = socket_path, .out = &out, .err = &err};
  const std::string line =
      "attachctl: cannot connect to attachd at /nonexistent/attachd.sock: is "
      "the daemon running?\n";

  EXPECT_EQ(RunRemove(*stub, {"web", "db"}, env), 1);
  EXPECT_EQ(err.str(), line);
  err.str("");
  EXPECT_EQ(RunList(*stub, ListFormat::kTable, kNow, env), 1);
  EXPECT_EQ(err.str(), line);
  err.str("");
  EXPECT_EQ(RunEvents(*stub, false, EventFormat::kText, env), 1);
  EXPECT_EQ(err.str(), line);
  EXPECT_EQ(out.str(), "");
}

TEST_F(ContainerCommandsTest, EventsPrintsOneLinePerEvent) {
  service_.SetWatchScript({MakeEvent(Event::TYPE_REGISTERED, "web", 42),
                           MakeEvent(Event::TYPE_EXITED, "web", 42),
                           MakeEvent(Event::TYPE_UNREGISTERED, "web", 42)},
                          grpc::Status::OK);

  EXPECT_EQ(RunEvents(*stub_, true, EventFormat::kText, Env()), 0);
  EXPECT_TRUE(service_.last_watch_request()->include_existing());
  EXPECT_EQ(out_.str(),
            "2023-11-14T22:13:20.000000Z registered web pid=42\n"
            "2023-11-14T22:13:20.000000Z exited web pid=42\n"
            "2023-11-14T22:13:20.000000Z unregistered web pid=42\n");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(ContainerCommandsTest, EventsJsonPrintsOneObjectPerLine) {
  service_.SetWatchScript({MakeEvent(Event::TYPE_REGISTERED, "web", 42),
                           MakeEvent(Event::TYPE_EXITED, "db", 7)},
                          grpc::Status::OK);

  EXPECT_EQ(RunEvents(*stub_, false, EventFormat::kJson, Env()), 0);
  EXPECT_FALSE(service_.last_watch_request()->include_existing());
  std::vector<std::string> lines;
  std::istringstream in(out_.str());
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0],
              StartsWith("{\"type\":\"TYPE_REGISTERED\",\"container\":{"));
  EXPECT_THAT(lines[1],
              StartsWith("{\"type\":\"TYPE_EXITED\",\"container\":{"));
}

Event ExecExited(const std::string& name, int pid, int code) {
  Event event = MakeEvent(Event::TYPE_EXEC_EXITED, name, 1);
  event.mutable_exec_exited()->set_pid(pid);
  event.mutable_exec_exited()->set_container_pid(12);
  event.mutable_exec_exited()->mutable_status()->set_code(code);
  return event;
}

TEST_F(ContainerCommandsTest, EventsPrintsAnExecExit) {
  Event killed = ExecExited("web", 31338, 0);
  killed.mutable_exec_exited()->mutable_status()->set_signal(15);
  service_.SetWatchScript({ExecExited("web", 31337, 0), killed},
                          grpc::Status::OK);

  EXPECT_EQ(RunEvents(*stub_, false, EventFormat::kText, Env()), 0);
  EXPECT_EQ(out_.str(),
            "2023-11-14T22:13:20.000000Z exec-exited web pid=31337 exit=0\n"
            "2023-11-14T22:13:20.000000Z exec-exited web pid=31338 "
            "signal=15\n");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(ContainerCommandsTest, EventsJsonCarriesTheExecExit) {
  // Without its container, so that the line is only the event's own
  // fields.
  Event event = ExecExited("web", 31337, 3);
  event.clear_container();
  service_.SetWatchScript({event}, grpc::Status::OK);

  EXPECT_EQ(RunEvents(*stub_, false, EventFormat::kJson, Env()), 0);
  EXPECT_EQ(out_.str(),
            "{\"type\":\"TYPE_EXEC_EXITED\",\"execExited\":{\"pid\":31337,"
            "\"containerPid\":12,\"status\":{\"coreDumped\":false,"
            "\"timedOut\":false,\"code\":3}},\"time\":\"2023-11-14T22:13:20Z\"}"
            "\n");
}

TEST_F(ContainerCommandsTest, EventsReportsAStreamThatFails) {
  service_.SetWatchScript(
      {MakeEvent(Event::TYPE_REGISTERED, "web", 42)},
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "attachd is shutting down"));

  EXPECT_EQ(RunEvents(*stub_, false, EventFormat::kText, Env()), 1);
  EXPECT_EQ(err_.str(), "attachctl: watch events: attachd is shutting down\n");
}

TEST_F(ContainerCommandsTest, EventsEndsCleanlyOnSigint) {
  service_.SetWatchScript({MakeEvent(Event::TYPE_REGISTERED, "web", 42)},
                          std::nullopt);

  std::future<int> exit_code = std::async(std::launch::async, [&] {
    return RunEvents(*stub_, false, EventFormat::kText, Env());
  });
  service_.watch_events_sent().WaitForNotification();
  ASSERT_EQ(raise(SIGINT), 0);

  EXPECT_EQ(exit_code.get(), 0);
  EXPECT_TRUE(service_.watch_cancelled().WaitForNotificationWithTimeout(
      absl::Seconds(5)));
  EXPECT_EQ(err_.str(), "");
}

}  // namespace
}  // namespace attachd::client
