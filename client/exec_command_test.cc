#include "client/exec_command.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "attachd/v1/attachd.pb.h"
#include "gtest/gtest.h"

namespace attachd::client {
namespace {

using ::attachd::v1::ExecStart;

std::optional<std::string> NoEnvironment(const std::string&) {
  return std::nullopt;
}

ExecArgs Args() {
  ExecArgs args;
  args.container = "web";
  args.command = {"sh"};
  return args;
}

TEST(BuildExecStart, SetsTheFlagsOfInteractiveExecAndProcessControl) {
  struct Case {
    std::string name;
    std::function<void(ExecArgs&)> set;
    std::function<void(ExecStart&)> expect;
  };
  for (const Case& c : std::vector<Case>{
           {"-t", [](ExecArgs& a) { a.tty = true; },
            [](ExecStart& s) {
              s.set_tty(true);
              s.add_env("TERM=xterm");
            }},
           {"-it",
            [](ExecArgs& a) {
              a.interactive = true;
              a.tty = true;
            },
            [](ExecStart& s) {
              s.set_attach_stdin(true);
              s.set_tty(true);
              s.add_env("TERM=xterm");
            }},
           {"-t -e TERM=vt100",
            [](ExecArgs& a) {
              a.tty = true;
              a.env = {"A=1", "TERM=vt100"};
            },
            [](ExecStart& s) {
              s.set_tty(true);
              s.add_env("A=1");
              s.add_env("TERM=vt100");
            }},
           {"-t --inherit-env",
            [](ExecArgs& a) {
              a.tty = true;
              a.inherit_env = true;
            },
            [](ExecStart& s) {
              s.set_tty(true);
              s.set_inherit_env(true);
            }},
           {"-d", [](ExecArgs& a) { a.detach = true; },
            [](ExecStart& s) { s.set_detach(true); }},
           {"--elevated", [](ExecArgs& a) { a.elevated = true; },
            [](ExecStart& s) { s.set_elevated(true); }},
           {"--user app:staff", [](ExecArgs& a) { a.user = "app:staff"; },
            [](ExecStart& s) { s.set_user("app:staff"); }},
           {"--user 1000:staff", [](ExecArgs& a) { a.user = "1000:staff"; },
            [](ExecStart& s) { s.set_user("1000:staff"); }},
           {"--user 1000:100", [](ExecArgs& a) { a.user = "1000:100"; },
            [](ExecStart& s) {
              s.set_uid(1000);
              s.set_gid(100);
            }},
           {"--user 1000", [](ExecArgs& a) { a.user = "1000"; },
            [](ExecStart& s) { s.set_uid(1000); }},
           {"--timeout 30s", [](ExecArgs& a) { a.timeout = "30s"; },
            [](ExecStart& s) { s.mutable_timeout()->set_seconds(30); }},
           {"--timeout 1.5s", [](ExecArgs& a) { a.timeout = "1.5s"; },
            [](ExecStart& s) {
              s.mutable_timeout()->set_seconds(1);
              s.mutable_timeout()->set_nanos(500000000);
            }},
           {"--timeout 250ms", [](ExecArgs& a) { a.timeout = "250ms"; },
            [](ExecStart& s) { s.mutable_timeout()->set_nanos(250000000); }},
       }) {
    SCOPED_TRACE(c.name);
    ExecArgs args = Args();
    c.set(args);
    ExecStart expected;
    expected.set_container("web");
    expected.add_argv("sh");
    c.expect(expected);

    absl::StatusOr<ExecStart> start = BuildExecStart(args, NoEnvironment);

    ASSERT_TRUE(start.ok()) << start.status();
    EXPECT_EQ(start->DebugString(), expected.DebugString());
  }
}

TEST(BuildExecStart, RefusesDetachWithStdinOrTerminal) {
  struct Case {
    bool interactive;
    bool tty;
  };
  for (const Case& c :
       {Case{true, false}, Case{false, true}, Case{true, true}}) {
    SCOPED_TRACE(testing::Message()
                 << "-i " << c.interactive << " -t " << c.tty);
    ExecArgs args = Args();
    args.detach = true;
    args.interactive = c.interactive;
    args.tty = c.tty;

    absl::StatusOr<ExecStart> start = BuildExecStart(args, NoEnvironment);

    EXPECT_EQ(start.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(start.status().message(),
              "exec: -d cannot be used with -i or -t (a detached command has "
              "no stdin and no terminal)");
  }
}

TEST(BuildExecStart, ReportsABadTimeoutAsAUsageError) {
  ExecArgs args = Args();
  args.timeout = "30";

  absl::StatusOr<ExecStart> start = BuildExecStart(args, NoEnvironment);

  EXPECT_EQ(start.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(start.status().message(),
            "--timeout \"30\" is not a duration (want a number and a unit, as "
            "in 30s, 5m, 1.5s)");
}

}  // namespace
}  // namespace attachd::client
