// Runs the attachctl binary against fake services, to check what a user
// sees: the command line, the bytes, the exit status and the one error line.

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <future>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "attachd/v1/attachd.grpc.pb.h"
#include "client/fake_services.h"
#include "client/test_support.h"
#include "common/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attachd::client {
namespace {

using ::attachd::v1::ExecError;
using ::attachd::v1::ExecRequest;
using ::attachd::v1::ExecResponse;
using ::attachd::v1::ExecStart;
using ::testing::HasSubstr;

constexpr char kAttachctl[] = "client/attachctl";
constexpr absl::Duration kHalfCloseLimit = absl::Seconds(5);

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Starts attachctl with `args` and exactly the environment `env`, its
// stdin, stdout and stderr on the given descriptors.
pid_t Spawn(const std::vector<std::string>& args,
            const std::vector<std::string>& env, int stdin_fd, int stdout_fd,
            int stderr_fd) {
  std::vector<char*> argv = {const_cast<char*>(kAttachctl)};
  for (const std::string& arg : args) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& entry : env) {
    envp.push_back(const_cast<char*>(entry.c_str()));
  }
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
  pid_t pid = -1;
  int error = posix_spawn(&pid, kAttachctl, &actions, nullptr, argv.data(),
                          envp.data());
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(error, 0) << strerror(error);
  return pid;
}

// The exit status as a shell reports it.
int Wait(pid_t pid) {
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return WEXITSTATUS(status);
}

Outcome RunAttachctl(const std::vector<std::string>& args,
                     const std::vector<std::string>& env = {},
                     const std::string& input = "") {
  common::UniqueFd in = MemfdWithContents(input);
  common::UniqueFd out = MemfdWithContents("");
  common::UniqueFd err = MemfdWithContents("");

  pid_t pid = Spawn(args, env, in.get(), out.get(), err.get());
  int exit_code = Wait(pid);
  return {exit_code, FileContents(out.get()), FileContents(err.get())};
}

// Reads `pipe_fd` until `text` has arrived.
void ReadUntil(int pipe_fd, const std::string& text) {
  std::string seen;
  char buffer[256];
  while (seen.find(text) == std::string::npos) {
    ssize_t count = read(pipe_fd, buffer, sizeof(buffer));
    ASSERT_GT(count, 0) << "attachctl ended its output before " << text;
    seen.append(buffer, static_cast<size_t>(count));
  }
}

ExecResponse Stdout(const std::string& bytes) {
  ExecResponse response;
  response.set_stdout_data(bytes);
  return response;
}

ExecResponse ExitCode(int code) {
  ExecResponse response;
  response.mutable_exit()->set_code(code);
  return response;
}

TEST(Attachctl, HelpListsTheSubcommands) {
  Outcome run = RunAttachctl({"--help"});

  EXPECT_EQ(run.exit_code, 0);
  for (const char* command :
       {"register", "ls", "inspect", "rm", "events", "exec", "--socket"}) {
    EXPECT_THAT(run.out, HasSubstr(command));
  }
  EXPECT_EQ(run.err, "");
}

TEST(Attachctl, RejectsBadUsageWithOneLineAndStatusTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string line;
  };
  for (const Case& c : std::vector<Case>{
           {{}, "attachctl: A subcommand is required (see attachctl --help)"},
           {{"exec", "web"},
            "attachctl: exec: no command given (attachctl exec NAME -- CMD "
            "[ARGS...])"},
           {{"exec", "web", "ls", "-l"},
            "attachctl: exec: unexpected argument \"ls\" (the command goes "
            "after --)"},
           {{"exec", "--user", "1:", "web", "--", "id"},
            "attachctl: --user \"1:\": gid is empty (want UID[:GID])"},
           {{"exec", "--env", "=x", "web", "--", "env"},
            "attachctl: --env \"=x\": empty variable name (want KEY=VALUE)"},
           {{"ls", "--", "web"},
            "attachctl: only exec takes arguments after --"},
           {{"register", "web"},
            "attachctl: --pid is required (see attachctl --help)"},
           {{"register", "web", "--pid", "-1"},
            "attachctl: --pid \"-1\" is not a decimal number"},
           {{"register", "web", "--pid", "1", "--start-time", "0x10"},
            "attachctl: --start-time \"0x10\" is not a decimal number"},
       }) {
    SCOPED_TRACE(absl::StrCat("attachctl ", c.args.size(), " args"));
    Outcome run = RunAttachctl(c.args);

    EXPECT_EQ(run.exit_code, 2);
    EXPECT_EQ(run.err, c.line + "\n");
    EXPECT_EQ(run.out, "");
  }
}

TEST(Attachctl, ExecPassesTheCommandLineOnByteForByte) {
  std::promise<ExecStart> received;
  ScriptedExecService service(
      [&](grpc::ServerContext* context, ExecServerStream* stream) {
        ExecRequest request;
        stream->Read(&request);
        received.set_value(request.start());
        stream->Write(Stdout(std::string("\0\xff out", 6)));
        stream->Write(ExitCode(42));
        WaitForHalfClose(context, stream, kHalfCloseLimit, nullptr);
        return grpc::Status::OK;
      });
  TestServer server({&service});
  std::vector<std::string> command = {"printf", "[a,b]", "{}",   "",
                                      "--",     "-l",    "\xff", "%s\n"};
  std::vector<std::string> args = {"--socket",  server.socket_path(),
                                   "exec",      "-e",
                                   "X=[1,2]",   "--env",
                                   "HOME",      "-e",
                                   "UNSET",     "--cwd",
                                   "/srv/\x80", "--user",
                                   "1000:100",  "--inherit-env",
                                   "web",       "--"};
  args.insert(args.end(), command.begin(), command.end());

  Outcome run = RunAttachctl(args, {"HOME=/home/ada"});

  EXPECT_EQ(run.exit_code, 42);
  EXPECT_EQ(run.out, std::string("\0\xff out", 6));
  EXPECT_EQ(run.err, "");
  ExecStart start = received.get_future().get();
  EXPECT_EQ(start.container(), "web");
  EXPECT_EQ(std::vector<std::string>(start.argv().begin(), start.argv().end()),
            command);
  EXPECT_EQ(std::vector<std::string>(start.env().begin(), start.env().end()),
            (std::vector<std::string>{"X=[1,2]", "HOME=/home/ada"}));
  EXPECT_EQ(start.cwd(), "/srv/\x80");
  EXPECT_EQ(start.uid(), 1000u);
  EXPECT_EQ(start.gid(), 100u);
  EXPECT_TRUE(start.inherit_env());
  EXPECT_FALSE(start.attach_stdin());
}

TEST(Attachctl, ExecInteractiveForwardsStdin) {
  ScriptedExecService service([&](grpc::ServerContext* context,
                                  ExecServerStream* stream) {
    std::vector<ExecRequest> requests;
    WaitForHalfClose(context, stream, kHalfCloseLimit, &requests);
    std::string input;
    for (const ExecRequest& request : requests) {
      input += request.stdin_data();
    }
    stream->Write(Stdout(input));
    stream->Write(ExitCode(requests.front().start().attach_stdin() ? 0 : 1));
    return grpc::Status::OK;
  });
  TestServer server({&service});
  std::string input = PatternBytes(100 * 1024);

  Outcome run = RunAttachctl(
      {"--socket", server.socket_path(), "exec", "-i", "web", "--", "cat"}, {},
      input);

  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out, input);
  EXPECT_EQ(run.err, "");
}

grpc::Status WithExecError(grpc::StatusCode code, const std::string& message,
                           ExecError::Step step, int errno_value) {
  ExecError error;
  error.set_step(step);
  error.set_errno_value(errno_value);
  return grpc::Status(code, message, error.SerializeAsString());
}

TEST(Attachctl, ExecReportsAFailureInOneLine) {
  struct Case {
    grpc::Status status;
    int exit_code;
    std::string line;
  };
  for (const Case& c : std::vector<Case>{
           {grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                         "container web exited"),
            1, "attachctl: exec in web: container web exited"},
           {grpc::Status(grpc::StatusCode::NOT_FOUND, "no container named web"),
            1, "attachctl: exec in web: no container named web"},
           {WithExecError(grpc::StatusCode::NOT_FOUND,
                          "execve(nosuch): No such file or directory",
                          ExecError::STEP_EXEC, ENOENT),
            127,
            "attachctl: exec in web: execve(nosuch): No such file or "
            "directory"},
           {WithExecError(grpc::StatusCode::PERMISSION_DENIED,
                          "execve(/etc): Permission denied",
                          ExecError::STEP_EXEC, EACCES),
            126, "attachctl: exec in web: execve(/etc): Permission denied"},
       }) {
    SCOPED_TRACE(c.line);
    ScriptedExecService service(
        [&](grpc::ServerContext*, ExecServerStream* stream) {
          ExecRequest request;
          stream->Read(&request);
          return c.status;
        });
    TestServer server({&service});

    Outcome run = RunAttachctl(
        {"--socket", server.socket_path(), "exec", "web", "--", "nosuch"});

    EXPECT_EQ(run.exit_code, c.exit_code);
    EXPECT_EQ(run.err, c.line + "\n");
    EXPECT_EQ(run.out, "");
  }
}

TEST(Attachctl, ExecSaysWhenTheDaemonIsNotRunning) {
  Outcome run = RunAttachctl({"exec", "web", "--", "true"},
                             {"ATTACHD_SOCKET=/nonexistent/attachd.sock"});

  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err,
            "attachctl: cannot connect to attachd at "
            "/nonexistent/attachd.sock: is the daemon running?\n");
}

TEST(Attachctl, ExecCancelsTheCallWhenInterrupted) {
  for (int signal : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(strsignal(signal));
    std::promise<bool> cancelled;
    ScriptedExecService service(
        [&](grpc::ServerContext* context, ExecServerStream* stream) {
          ExecRequest request;
          stream->Read(&request);
          stream->Write(Stdout("ready\n"));
          while (!context->IsCancelled()) {
            usleep(1000);
          }
          cancelled.set_value(true);
          return grpc::Status::CANCELLED;
        });
    TestServer server({&service});
    int pipe_fds[2];
    ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
    common::UniqueFd read_end(pipe_fds[0]);
    common::UniqueFd write_end(pipe_fds[1]);
    common::UniqueFd in = MemfdWithContents("");
    common::UniqueFd err = MemfdWithContents("");

    pid_t pid = Spawn({"--socket", server.socket_path(), "exec", "-i", "web",
                       "--", "sleep", "infinity"},
                      {}, in.get(), write_end.get(), err.get());
    ReadUntil(read_end.get(), "ready\n");
    ASSERT_EQ(kill(pid, signal), 0);

    EXPECT_EQ(Wait(pid), 128 + signal);
    EXPECT_TRUE(cancelled.get_future().get());
    EXPECT_EQ(FileContents(err.get()), "");
  }
}

TEST(Attachctl, TakesTheSocketFromTheEnvironmentUnlessGiven) {
  FakeContainerService service;
  attachd::v1::Container web;
  web.set_name("web");
  service.Add(web);
  TestServer server({&service});
  std::string env = "ATTACHD_SOCKET=" + server.socket_path();

  Outcome from_env = RunAttachctl({"ls", "-q"}, {env});
  Outcome overridden =
      RunAttachctl({"ls", "-q", "--socket", "/nonexistent/s"}, {env});

  EXPECT_EQ(from_env.exit_code, 0);
  EXPECT_EQ(from_env.out, "web\n");
  EXPECT_EQ(overridden.exit_code, 1);
  EXPECT_EQ(overridden.err,
            "attachctl: cannot connect to attachd at /nonexistent/s: is the "
            "daemon running?\n");
}

TEST(Attachctl, EventsEndsCleanlyOnSigint) {
  FakeContainerService service;
  attachd::v1::Event event;
  event.set_type(attachd::v1::Event::TYPE_REGISTERED);
  event.mutable_container()->set_name("web");
  event.mutable_container()->set_pid(42);
  service.SetWatchScript({event}, std::nullopt);
  TestServer server({&service});
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  common::UniqueFd read_end(pipe_fds[0]);
  common::UniqueFd write_end(pipe_fds[1]);
  common::UniqueFd in = MemfdWithContents("");
  common::UniqueFd err = MemfdWithContents("");

  pid_t pid = Spawn({"events", "--socket", server.socket_path()}, {}, in.get(),
                    write_end.get(), err.get());
  ReadUntil(read_end.get(),
            "1970-01-01T00:00:00.000000Z registered web pid=42\n");
  ASSERT_EQ(kill(pid, SIGINT), 0);

  EXPECT_EQ(Wait(pid), 0);
  EXPECT_EQ(FileContents(err.get()), "");
  EXPECT_TRUE(service.watch_cancelled().WaitForNotificationWithTimeout(
      absl::Seconds(5)));
}

}  // namespace
}  // namespace attachd::client
