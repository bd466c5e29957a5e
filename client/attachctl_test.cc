// Runs the attachctl binary against fake services, to check what a user
// sees: the command line, the bytes, the exit status and the one error line.

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <future>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
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

TEST(Attachctl, HelpListsTheSubcommands) {
  Outcome run = RunAttachctl({"--help"});

  EXPECT_EQ(run.exit_code, 0);
  for (const char* command : {"register", "ls", "inspect", "rm", "events",
                              "exec", "kill", "--socket"}) {
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
            "attachctl: --user \"1:\": group is empty (want USER[:GROUP])"},
           {{"exec", "--user", "a b", "web", "--", "id"},
            "attachctl: --user \"a b\": user is neither a number nor a name "
            "of [A-Za-z0-9._-] (want USER[:GROUP])"},
           {{"exec", "-d", "-i", "web", "--", "sh"},
            "attachctl: exec: -d cannot be used with -i or -t (a detached "
            "command has no stdin and no terminal)"},
           {{"exec", "-dt", "web", "--", "sh"},
            "attachctl: exec: -d cannot be used with -i or -t (a detached "
            "command has no stdin and no terminal)"},
           {{"exec", "--detach", "--tty", "web", "--", "sh"},
            "attachctl: exec: -d cannot be used with -i or -t (a detached "
            "command has no stdin and no terminal)"},
           {{"exec", "--timeout", "30", "web", "--", "sleep", "60"},
            "attachctl: --timeout \"30\" is not a duration (want a number "
            "and a unit, as in 30s, 5m, 1.5s)"},
           {{"exec", "--timeout", "-1s", "web", "--", "sleep", "60"},
            "attachctl: --timeout \"-1s\" is not more than zero"},
           {{"kill", "web"},
            "attachctl: PID is required (see attachctl --help)"},
           {{"kill", "web", "0"}, "attachctl: PID \"0\" is not a process id"},
           {{"kill", "web", "x1"},
            "attachctl: PID \"x1\" is not a decimal number"},
           {{"kill", "web", "42", "-s", "FOO"},
            "attachctl: --signal \"FOO\" is not a signal name or number (as "
            "in KILL, SIGTERM, term, 9)"},
           {{"kill", "web", "42", "--signal", "65"},
            "attachctl: --signal \"65\" is larger than 64"},
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

ExecResponse Started(int pid, int container_pid) {
  ExecResponse response;
  response.mutable_started()->set_pid(pid);
  response.mutable_started()->set_container_pid(container_pid);
  return response;
}

// An Exec service that records the ExecStart, answers with `responses`
// and waits for the half-close, as attachd does.
class RecordingExec {
 public:
  explicit RecordingExec(std::vector<ExecResponse> responses,
                         grpc::Status end = grpc::Status::OK)
      : service_([this, responses, end](grpc::ServerContext* context,
                                        ExecServerStream* stream) {
          ExecRequest request;
          stream->Read(&request);
          received_.set_value(request.start());
          for (const ExecResponse& response : responses) {
            stream->Write(response);
          }
          WaitForHalfClose(context, stream, kHalfCloseLimit, nullptr);
          return end;
        }) {}

  ScriptedExecService* service() { return &service_; }
  ExecStart start() { return received_.get_future().get(); }

 private:
  std::promise<ExecStart> received_;
  ScriptedExecService service_;
};

TEST(Attachctl, ExecTtyWithoutATerminalAsksFor24By80AndLeavesOutputRaw) {
  RecordingExec exec({Stdout("a\r\nb\n"), ExitCode(0)});
  TestServer server({exec.service()});

  Outcome run = RunAttachctl(
      {"--socket", server.socket_path(), "exec", "-t", "web", "--", "tty"});

  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out, "a\r\nb\n");
  EXPECT_EQ(run.err, "");
  ExecStart start = exec.start();
  EXPECT_TRUE(start.tty());
  EXPECT_FALSE(start.attach_stdin());
  EXPECT_EQ(start.window_size().ShortDebugString(), "rows: 24 columns: 80");
  EXPECT_EQ(std::vector<std::string>(start.env().begin(), start.env().end()),
            std::vector<std::string>{"TERM=xterm"});
}

TEST(Attachctl, ExecInteractiveTtyRefusesAStdinThatIsNotATerminal) {
  bool called = false;
  ScriptedExecService service([&](grpc::ServerContext*, ExecServerStream*) {
    called = true;
    return grpc::Status::OK;
  });
  TestServer server({&service});

  for (std::string flags : {"-it", "-ti"}) {
    SCOPED_TRACE(flags);
    Outcome run = RunAttachctl(
        {"--socket", server.socket_path(), "exec", flags, "web", "--", "sh"},
        {}, "echo hi\n");

    EXPECT_EQ(run.exit_code, 1);
    EXPECT_EQ(run.err,
              "attachctl: exec: the input device is not a TTY (-it needs a "
              "terminal on stdin; drop -t to pipe input)\n");
    EXPECT_EQ(run.out, "");
  }
  EXPECT_FALSE(called);
}

TEST(Attachctl, ExecPassesUserNameElevatedAndTimeout) {
  RecordingExec exec({ExitCode(0)});
  TestServer server({exec.service()});

  Outcome run = RunAttachctl({"--socket", server.socket_path(), "exec",
                              "--user", "app:staff", "--elevated", "--timeout",
                              "1.5s", "web", "--", "id"});

  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.err, "");
  ExecStart start = exec.start();
  EXPECT_EQ(start.user(), "app:staff");
  EXPECT_FALSE(start.has_uid());
  EXPECT_FALSE(start.has_gid());
  EXPECT_TRUE(start.elevated());
  EXPECT_EQ(start.timeout().ShortDebugString(), "seconds: 1 nanos: 500000000");
  EXPECT_FALSE(start.tty());
  EXPECT_FALSE(start.detach());
}

TEST(Attachctl, ExecSaysTheCommandTimedOutAndExits124) {
  struct Case {
    std::string timeout;
    std::string line;
  };
  for (const Case& c : std::vector<Case>{
           {"30s", "attachctl: command timed out after 30s\n"},
           {"1.5s", "attachctl: command timed out after 1.5s\n"},
           {"90s", "attachctl: command timed out after 1m30s\n"},
           {"5m", "attachctl: command timed out after 5m\n"},
       }) {
    SCOPED_TRACE(c.timeout);
    ExecResponse timed_out = KilledBy(SIGKILL);
    timed_out.mutable_exit()->set_timed_out(true);
    RecordingExec exec({Stdout("partial"), timed_out});
    TestServer server({exec.service()});

    Outcome run =
        RunAttachctl({"--socket", server.socket_path(), "exec", "--timeout",
                      c.timeout, "web", "--", "sleep", "1000"});

    EXPECT_EQ(run.exit_code, 124);
    EXPECT_EQ(run.out, "partial");
    EXPECT_EQ(run.err, c.line);
  }
}

TEST(Attachctl, ExecDetachPrintsTheHostPid) {
  struct Case {
    std::vector<std::string> flags;
    std::string err;
  };
  for (const Case& c : std::vector<Case>{
           {{"-d"}, ""},
           {{"--detach"}, ""},
           {{"-v", "-d"},
            "attachctl: started pid 4242 (pid 7 in the container)\n"},
       }) {
    SCOPED_TRACE(c.flags.back() + " " + c.flags.front());
    RecordingExec exec({Started(4242, 7)});
    TestServer server({exec.service()});
    std::vector<std::string> args = {"--socket", server.socket_path(), "exec"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    args.insert(args.end(), {"web", "--", "sleep", "1000"});

    Outcome run = RunAttachctl(args);

    EXPECT_EQ(run.exit_code, 0);
    EXPECT_EQ(run.out, "4242\n");
    EXPECT_EQ(run.err, c.err);
    ExecStart start = exec.start();
    EXPECT_TRUE(start.detach());
    EXPECT_FALSE(start.attach_stdin());
    EXPECT_FALSE(start.tty());
  }
}

TEST(Attachctl, ExecDetachReportsACallThatStartedNothing) {
  struct Case {
    grpc::Status end;
    std::string err;
  };
  for (const Case& c : std::vector<Case>{
           {grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                         "ExecStart.detach is not served by this attachd"),
            "attachctl: exec in web: ExecStart.detach is not served by this "
            "attachd\n"},
           {grpc::Status::OK,
            "attachctl: exec in web: the daemon ended the call without "
            "starting it\n"},
       }) {
    SCOPED_TRACE(c.err);
    RecordingExec exec({}, c.end);
    TestServer server({exec.service()});

    Outcome run = RunAttachctl({"--socket", server.socket_path(), "exec", "-d",
                                "web", "--", "sleep", "1000"});

    EXPECT_EQ(run.exit_code, 1);
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(run.err, c.err);
  }
}

TEST(Attachctl, KillSendsTheSignalByNameOrNumber) {
  struct Case {
    std::vector<std::string> args;
    int signal;
  };
  for (const Case& c : std::vector<Case>{
           {{"kill", "web", "4242"}, SIGKILL},
           {{"kill", "web", "4242", "-s", "TERM"}, SIGTERM},
           {{"kill", "-s", "sigusr1", "web", "4242"}, SIGUSR1},
           {{"kill", "web", "4242", "--signal", "term"}, SIGTERM},
           {{"kill", "web", "4242", "--signal=SIGHUP"}, SIGHUP},
           {{"kill", "web", "4242", "-s", "2"}, SIGINT},
       }) {
    SCOPED_TRACE(absl::StrJoin(c.args, " "));
    std::vector<attachd::v1::SignalRequest> received;
    ScriptedExecService service(
        [](grpc::ServerContext*, ExecServerStream*) {
          return grpc::Status(grpc::StatusCode::INTERNAL, "no Exec expected");
        },
        [&](const attachd::v1::SignalRequest& request) {
          received.push_back(request);
          return grpc::Status::OK;
        });
    TestServer server({&service});
    std::vector<std::string> args = c.args;
    args.insert(args.begin(), {"--socket", server.socket_path()});

    Outcome run = RunAttachctl(args);

    EXPECT_EQ(run.exit_code, 0);
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(run.err, "");
    ASSERT_EQ(received.size(), 1u);
    EXPECT_EQ(received[0].ShortDebugString(),
              absl::StrCat("container: \"web\" pid: 4242 signal: ", c.signal));
  }
}

TEST(Attachctl, KillReportsAFailureInOneLine) {
  ScriptedExecService service(
      [](grpc::ServerContext*, ExecServerStream*) { return grpc::Status::OK; },
      [](const attachd::v1::SignalRequest&) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND,
                            "no detached command with pid 4242 in web");
      });
  TestServer server({&service});

  Outcome run =
      RunAttachctl({"--socket", server.socket_path(), "kill", "web", "4242"});

  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err,
            "attachctl: kill 4242 in web: no detached command with pid 4242 "
            "in web\n");
}

// A pseudo-terminal whose slave is the controlling terminal of attachctl,
// as in an interactive shell: the kernel sends SIGWINCH to attachctl when
// the size changes.
class PtyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int master = -1;
    int slave = -1;
    struct winsize size = {};
    size.ws_row = 30;
    size.ws_col = 100;
    ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, &size), 0)
        << strerror(errno);
    master_.reset(master);
    slave_.reset(slave);
    ASSERT_EQ(fcntl(master, F_SETFD, FD_CLOEXEC), 0);
    ASSERT_EQ(fcntl(slave, F_SETFD, FD_CLOEXEC), 0);
    ASSERT_EQ(tcgetattr(slave, &before_), 0) << strerror(errno);
  }

  // Starts attachctl in a session of its own whose controlling terminal is
  // the slave, as its stdin, stdout and stderr.  Between fork and exec the
  // child calls only async-signal-safe functions: the test runs gRPC
  // threads.
  pid_t SpawnOnPty(const std::vector<std::string>& args) {
    std::vector<char*> argv = {const_cast<char*>(kAttachctl)};
    for (const std::string& arg : args) {
      argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);
    char* envp[] = {nullptr};
    int slave = slave_.get();

    pid_t pid = fork();
    if (pid == 0) {
      if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) != 0 ||
          dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0) {
        _exit(120);
      }
      execve(kAttachctl, argv.data(), envp);
      _exit(121);
    }
    EXPECT_GT(pid, 0) << strerror(errno);
    return pid;
  }

  // Reads the master until `text` has arrived or `limit` has passed;
  // returns all that was read.
  std::string ReadMasterUntil(const std::string& text,
                              absl::Duration limit = absl::Seconds(5)) {
    std::string seen;
    absl::Time deadline = absl::Now() + limit;
    while (seen.find(text) == std::string::npos && absl::Now() < deadline) {
      struct pollfd fd = {.fd = master_.get(), .events = POLLIN, .revents = 0};
      if (poll(&fd, 1, 100) <= 0) {
        continue;
      }
      char buffer[256];
      ssize_t count = read(master_.get(), buffer, sizeof(buffer));
      if (count <= 0) {
        break;
      }
      seen.append(buffer, static_cast<size_t>(count));
    }
    return seen;
  }

  void SetSize(uint16_t rows, uint16_t columns) {
    struct winsize size = {};
    size.ws_row = rows;
    size.ws_col = columns;
    ASSERT_EQ(ioctl(master_.get(), TIOCSWINSZ, &size), 0) << strerror(errno);
  }

  struct termios Termios() {
    struct termios termios = {};
    EXPECT_EQ(tcgetattr(slave_.get(), &termios), 0) << strerror(errno);
    return termios;
  }

  void ExpectRestored() {
    struct termios after = Termios();
    EXPECT_EQ(after.c_iflag, before_.c_iflag);
    EXPECT_EQ(after.c_oflag, before_.c_oflag);
    EXPECT_EQ(after.c_cflag, before_.c_cflag);
    EXPECT_EQ(after.c_lflag, before_.c_lflag);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(after.c_cc), NCCS),
              std::string(reinterpret_cast<char*>(before_.c_cc), NCCS));
  }

  void ExpectRaw() {
    struct termios during = Termios();
    EXPECT_EQ(during.c_lflag & (ICANON | ECHO | ISIG), 0u);
    EXPECT_EQ(during.c_oflag & OPOST, 0u);
  }

  common::UniqueFd master_;
  common::UniqueFd slave_;
  struct termios before_ = {};
};

bool HasStdinData(const std::vector<ExecRequest>& requests,
                  const std::string& bytes) {
  std::string input;
  for (const ExecRequest& request : requests) {
    input += request.stdin_data();
  }
  return input.find(bytes) != std::string::npos;
}

std::vector<std::string> Resizes(const std::vector<ExecRequest>& requests) {
  std::vector<std::string> resizes;
  for (const ExecRequest& request : requests) {
    if (request.has_resize()) {
      resizes.push_back(request.resize().ShortDebugString());
    }
  }
  return resizes;
}

TEST_F(PtyTest, ExecItRunsRawForwardsResizeAndCtrlCThenRestores) {
  ExecRequestLog log;
  ScriptedExecService service(
      [&](grpc::ServerContext* context, ExecServerStream* stream) {
        ExecRequest request;
        stream->Read(&request);
        log.Add(request);
        stream->Write(Started(4242, 7));
        while (stream->Read(&request)) {
          log.Add(request);
          if (HasStdinData(log.requests(), "\x03")) {
            stream->Write(Stdout("^C\nbye\n"));
            stream->Write(ExitCode(42));
            break;
          }
        }
        WaitForHalfClose(context, stream, kHalfCloseLimit, nullptr);
        return grpc::Status::OK;
      });
  TestServer server({&service});

  pid_t pid = SpawnOnPty({"--socket", server.socket_path(), "-v", "exec", "-it",
                          "web", "--", "sh"});
  std::vector<ExecRequest> requests = log.WaitUntil(
      [](const std::vector<ExecRequest>& r) { return !r.empty(); },
      absl::Seconds(5));
  ASSERT_FALSE(requests.empty());
  const ExecStart& start = requests[0].start();
  EXPECT_TRUE(start.tty());
  EXPECT_TRUE(start.attach_stdin());
  EXPECT_EQ(start.window_size().ShortDebugString(), "rows: 30 columns: 100");
  ExpectRaw();

  SetSize(40, 120);
  requests = log.WaitUntil(
      [](const std::vector<ExecRequest>& r) { return !Resizes(r).empty(); },
      absl::Seconds(5));
  EXPECT_EQ(Resizes(requests),
            (std::vector<std::string>{"rows: 40 columns: 120"}));
  ASSERT_EQ(write(master_.get(), "\x03", 1), 1);

  EXPECT_EQ(Wait(pid), 42);
  // The command's output untranslated: a terminal in its original mode
  // would have written "^C\r\nbye\r\n".  attachctl's own line ends in
  // "\r\n", which raw mode needs to start the next line at its left.
  EXPECT_EQ(ReadMasterUntil("bye\n"),
            "attachctl: started pid 4242 (pid 7 in the container)\r\n"
            "^C\nbye\n");
  ExpectRestored();
}

TEST_F(PtyTest, ExecItRestoresTheTerminalWhenSignalled) {
  for (int signal : {SIGTERM, SIGHUP, SIGINT}) {
    SCOPED_TRACE(strsignal(signal));
    absl::Notification started;
    std::promise<bool> cancelled;
    ScriptedExecService service(
        [&](grpc::ServerContext* context, ExecServerStream* stream) {
          ExecRequest request;
          stream->Read(&request);
          started.Notify();
          while (stream->Read(&request)) {
          }
          cancelled.set_value(context->IsCancelled());
          return grpc::Status::CANCELLED;
        });
    TestServer server({&service});

    pid_t pid = SpawnOnPty({"--socket", server.socket_path(), "exec", "-it",
                            "web", "--", "sleep", "100"});
    ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(5)));
    ExpectRaw();
    ASSERT_EQ(kill(pid, signal), 0);

    EXPECT_EQ(Wait(pid), 128 + signal);
    EXPECT_TRUE(cancelled.get_future().get());
    ExpectRestored();
    EXPECT_EQ(ReadMasterUntil("\n", absl::Milliseconds(100)), "");
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
