// Exec against real containers through the real daemon: what a client
// sees for each rule of ExecService's contract.

#include <dirent.h>
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/daemon_harness.h"
#include "tests/test_container.h"

namespace attachd::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One daemon for the suite; each test starts the containers it needs.
class ExecTest : public SharedDaemonTest {
 protected:
  // Starts a container and registers it as `name`.
  TestContainer StartAndRegister(const std::string& name,
                                 TestContainerOptions options = {}) {
    absl::StatusOr<TestContainer> container = TestContainer::Start(options);
    EXPECT_TRUE(container.ok()) << container.status();
    absl::StatusOr<v1::Container> registered =
        RegisterPid(daemon_->containers(), name, container->pid());
    EXPECT_TRUE(registered.ok()) << registered.status();
    return std::move(*container);
  }

  void Unregister(const std::string& name) {
    grpc::ClientContext context;
    v1::UnregisterRequest request;
    request.set_name(name);
    v1::UnregisterResponse response;
    EXPECT_TRUE(
        daemon_->containers().Unregister(&context, request, &response).ok());
  }

  ExecResult Exec(const std::string& name,
                  const std::vector<std::string>& argv) {
    return RunExec(daemon_->exec(), {MakeStart(name, argv)});
  }
};

TEST_F(ExecTest, CommandSeesEveryNamespaceOfTheContainer) {
  TestContainer container = StartAndRegister("ns-all");
  std::vector<std::string> script;
  for (absl::string_view type : kNamespaceTypes) {
    script.push_back(absl::StrCat("readlink /proc/self/ns/", type));
  }
  ExecResult result = Exec("ns-all", {"sh", "-c", absl::StrJoin(script, ";")});
  ExpectExitCode(result, 0);

  std::vector<std::string> expected;
  for (absl::string_view type : kNamespaceTypes) {
    absl::StatusOr<ino_t> inode = container.NamespaceInode(type);
    ASSERT_TRUE(inode.ok());
    expected.push_back(absl::StrCat(type, ":[", *inode, "]"));
  }
  EXPECT_EQ(result.stdout_bytes, absl::StrJoin(expected, "\n") + "\n");
  Unregister("ns-all");
}

TEST_F(ExecTest, CommandIsInThePidNamespaceWithBothPidsReported) {
  TestContainer container = StartAndRegister("pidns");
  ExecResult result =
      Exec("pidns", {"sh", "-c", "echo $$; grep NSpid /proc/$$/status"});
  ExpectExitCode(result, 0);
  ASSERT_TRUE(result.started.has_value());

  // Inside, the shell's pid is the container pid attachd reported, and its
  // container's /proc shows only that level.
  int container_pid = result.started->container_pid();
  EXPECT_GT(container_pid, 1);
  EXPECT_EQ(result.stdout_bytes,
            absl::StrCat(container_pid, "\nNSpid:\t", container_pid, "\n"));
  EXPECT_NE(result.started->pid(), container_pid);
  Unregister("pidns");
}

TEST_F(ExecTest, HostSeesTheCommandNestedInTheContainerPidNamespace) {
  TestContainer container = StartAndRegister("nspid");
  v1::ExecStart start = MakeStart("nspid", {"sleep", "30"});
  grpc::ClientContext context;
  auto stream = daemon_->exec().Exec(&context);
  v1::ExecRequest first;
  *first.mutable_start() = start;
  ASSERT_TRUE(stream->Write(first));
  v1::ExecResponse started;
  ASSERT_TRUE(stream->Read(&started));
  ASSERT_TRUE(started.has_started());

  std::string status =
      ReadFile(absl::StrCat("/proc/", started.started().pid(), "/status"));
  EXPECT_THAT(status,
              HasSubstr(absl::StrCat("NSpid:\t", started.started().pid(), "\t",
                                     started.started().container_pid(), "\n")));
  absl::StatusOr<ino_t> pid_ns = container.NamespaceInode("pid");
  ASSERT_TRUE(pid_ns.ok());
  absl::StatusOr<ino_t> command_pid_ns =
      NamespaceInodeOf(started.started().pid(), "pid");
  ASSERT_TRUE(command_pid_ns.ok());
  EXPECT_EQ(*command_pid_ns, *pid_ns);

  context.TryCancel();
  stream->Finish();
  Unregister("nspid");
}

// The cgroup names of commands left below `container`'s cgroup2 cgroup,
// once none is left or 5 s have passed.
std::string CommandCgroupsLeft(const TestContainer& container) {
  std::string left;
  for (int i = 0; i < 100; ++i) {
    left.clear();
    DIR* dir = opendir(container.cgroup2_path().c_str());
    while (struct dirent* entry = dir != nullptr ? readdir(dir) : nullptr) {
      if (absl::StartsWith(entry->d_name, "attachd-exec-")) {
        left += entry->d_name;
      }
    }
    if (dir != nullptr) {
      closedir(dir);
    }
    if (left.empty()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return left;
}

TEST_F(ExecTest, CommandIsPlacedInTheContainersCgroups) {
  TestContainerOptions options;
  options.create_cgroups = true;
  TestContainer container = StartAndRegister("cg", options);
  ASSERT_FALSE(container.cgroups().empty());

  // The container has its own cgroup namespace rooted at its cgroups: a
  // process in them sees "/" in every v1 hierarchy attachd can reach, and
  // in cgroup2 the command's own cgroup right below the container's; one
  // outside would see a path climbing out ("/..").
  ExecResult result = Exec("cg", {"cat", "/proc/self/cgroup"});
  ExpectExitCode(result, 0);
  ASSERT_TRUE(result.started.has_value());
  EXPECT_TRUE(result.started->own_cgroup());
  std::string cgroup2_line;
  for (absl::string_view line : absl::StrSplit(result.stdout_bytes, '\n')) {
    if (absl::StartsWith(line, "0::")) {
      cgroup2_line = std::string(line);
    }
  }
  for (const ContainerCgroup& cgroup : container.cgroups()) {
    SCOPED_TRACE(cgroup.directory);
    if (cgroup.controller.empty()) {
      EXPECT_THAT(cgroup2_line,
                  ::testing::MatchesRegex("0::/attachd-exec-[0-9]+-[0-9]+"));
    } else {
      EXPECT_THAT(result.stdout_bytes,
                  HasSubstr(absl::StrCat(":", cgroup.controller, ":/\n")));
    }
  }

  // Once the command is reaped its cgroup is gone.
  EXPECT_EQ(CommandCgroupsLeft(container), "");
  Unregister("cg");
}

TEST_F(ExecTest, CommandCgroupKeptByABackgroundJobIsRemovedWhenItEnds) {
  TestContainerOptions options;
  options.create_cgroups = true;
  TestContainer container = StartAndRegister("cg-janitor", options);

  // The background sleep, which holds no output, outlives the call by
  // about 3 s and keeps the command's cgroup busy until it ends.
  ExecResult result =
      Exec("cg-janitor", {"sh", "-c", "sleep 3 >/dev/null 2>&1 & true"});
  ExpectExitCode(result, 0);
  EXPECT_EQ(CommandCgroupsLeft(container), "");
  Unregister("cg-janitor");
}

TEST_F(ExecTest, RootAndWorkingDirectoryAreTheContainers) {
  TestContainer container = StartAndRegister("root");
  v1::ExecStart start = MakeStart("root", {"sh", "-c", "pwd; cat /etc/group"});
  start.set_cwd("/tmp");
  ExecResult result = RunExec(daemon_->exec(), {start});
  ExpectExitCode(result, 0);
  EXPECT_EQ(result.stdout_bytes,
            "/tmp\n" + ReadFile(BusyboxRootfs() + "/etc/group"));

  // Without a cwd, the command starts at the container's root.
  ExecResult default_cwd = Exec("root", {"pwd"});
  EXPECT_EQ(default_cwd.stdout_bytes, "/\n");
  Unregister("root");
}

TEST_F(ExecTest, EnvironmentIsExactlyTheRequestsPlusDefaultPath) {
  TestContainer container = StartAndRegister("env");
  v1::ExecStart start = MakeStart("env", {"env"});
  start.add_env("GREETING=hello world");
  const std::string bytes_entry("BYTES=\xff\x01", 8);
  start.add_env(bytes_entry);
  ExecResult result = RunExec(daemon_->exec(), {start});
  ExpectExitCode(result, 0);
  EXPECT_EQ(result.stdout_bytes,
            "GREETING=hello world\n" + bytes_entry + "\n" +
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                "/sbin:/bin\n");

  start.add_env("PATH=/bin");
  result = RunExec(daemon_->exec(), {start});
  EXPECT_THAT(result.stdout_bytes, HasSubstr("PATH=/bin\n"));
  EXPECT_THAT(result.stdout_bytes, ::testing::Not(HasSubstr("/usr/local")));
  Unregister("env");
}

TEST_F(ExecTest, InheritEnvStartsFromTheContainersProcess) {
  TestContainer container = StartAndRegister("inherit");
  std::string environ =
      ReadFile(absl::StrCat("/proc/", container.pid(), "/environ"));
  std::vector<std::string> target =
      absl::StrSplit(environ, '\0', absl::SkipEmpty());
  ASSERT_FALSE(target.empty());

  v1::ExecStart start = MakeStart("inherit", {"env"});
  start.set_inherit_env(true);
  start.add_env("EXTRA=1");
  ExecResult result = RunExec(daemon_->exec(), {start});
  ExpectExitCode(result, 0);
  for (const std::string& entry : target) {
    EXPECT_THAT(result.stdout_bytes, HasSubstr(entry + "\n"));
  }
  EXPECT_THAT(result.stdout_bytes, HasSubstr("EXTRA=1\n"));
  Unregister("inherit");
}

TEST_F(ExecTest, OnlyStdioIsOpenInTheCommand) {
  TestContainer container = StartAndRegister("fds");
  // ls lists the shell's descriptors; the trailing `true` keeps the shell
  // from exec'ing ls in its own place.
  ExecResult result = Exec("fds", {"sh", "-c", "ls /proc/$$/fd; true"});
  ExpectExitCode(result, 0);
  EXPECT_EQ(result.stdout_bytes, "0\n1\n2\n");
  Unregister("fds");
}

TEST_F(ExecTest, CredentialsAreSetInTheContainersUserNamespace) {
  TestContainer container = StartAndRegister("creds");
  v1::ExecStart start = MakeStart("creds", {"sh", "-c", "id -u; id -g; id -G"});
  start.set_uid(1000);
  start.set_gid(1000);
  start.add_supplementary_gids(1000);
  start.add_supplementary_gids(65534);
  ExecResult result = RunExec(daemon_->exec(), {start});
  ExpectExitCode(result, 0);
  EXPECT_EQ(result.stdout_bytes, "1000\n1000\n1000 65534\n");

  // Seen from the host, the command runs as the mapped id.
  v1::ExecStart sleeper = MakeStart("creds", {"sleep", "30"});
  sleeper.set_uid(1000);
  grpc::ClientContext context;
  auto stream = daemon_->exec().Exec(&context);
  v1::ExecRequest first;
  *first.mutable_start() = sleeper;
  ASSERT_TRUE(stream->Write(first));
  v1::ExecResponse started;
  ASSERT_TRUE(stream->Read(&started));
  EXPECT_THAT(
      ReadFile(absl::StrCat("/proc/", started.started().pid(), "/status")),
      HasSubstr("Uid:\t101000\t101000\t101000\t101000\n"));
  context.TryCancel();
  stream->Finish();

  // An id with no mapping in the container is refused, not squashed.
  start.set_uid(70000);
  result = RunExec(daemon_->exec(), {start});
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  Unregister("creds");
}

TEST_F(ExecTest, ExitCodesAndSignalsAreReportedDistinctly) {
  TestContainer container = StartAndRegister("exits");
  ExpectExitCode(Exec("exits", {"sh", "-c", "exit 7"}), 7);
  ExpectExitCode(Exec("exits", {"false"}), 1);

  for (int signal_number : {SIGKILL, SIGTERM, SIGSEGV, SIGUSR1}) {
    SCOPED_TRACE(signal_number);
    ExecResult result = Exec(
        "exits", {"sh", "-c", absl::StrCat("kill -", signal_number, " $$")});
    EXPECT_TRUE(result.status.ok()) << result.status.error_message();
    ASSERT_TRUE(result.exit.has_value());
    EXPECT_EQ(result.exit->status_case(), v1::ExitStatus::kSignal);
    EXPECT_EQ(result.exit->signal(), signal_number);
  }
  Unregister("exits");
}

TEST_F(ExecTest, StartFailuresCarryTheStepAndErrno) {
  TestContainer container = StartAndRegister("fails");
  struct Case {
    std::vector<std::string> argv;
    std::string cwd;
    grpc::StatusCode code;
    v1::ExecError::Step step;
    int errno_value;
  };
  const std::vector<Case> cases = {
      {{"no-such-program"},
       "",
       grpc::StatusCode::NOT_FOUND,
       v1::ExecError::STEP_EXEC,
       ENOENT},
      {{"/bin/no-such-program"},
       "",
       grpc::StatusCode::NOT_FOUND,
       v1::ExecError::STEP_EXEC,
       ENOENT},
      {{"/etc/passwd"},
       "",
       grpc::StatusCode::PERMISSION_DENIED,
       v1::ExecError::STEP_EXEC,
       EACCES},
      {{"true"},
       "/no/such/dir",
       grpc::StatusCode::NOT_FOUND,
       v1::ExecError::STEP_CWD,
       ENOENT},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.argv[0] + " in " + c.cwd);
    v1::ExecStart start = MakeStart("fails", c.argv);
    start.set_cwd(c.cwd);
    ExecResult result = RunExec(daemon_->exec(), {start});
    EXPECT_EQ(result.status.error_code(), c.code)
        << result.status.error_message();
    EXPECT_FALSE(result.exit.has_value());
    v1::ExecError details;
    ASSERT_TRUE(details.ParseFromString(result.status.error_details()));
    EXPECT_EQ(details.step(), c.step);
    EXPECT_EQ(details.errno_value(), c.errno_value);
  }
  EXPECT_TRUE(daemon_->Children().empty());
  Unregister("fails");
}

TEST_F(ExecTest, BadRequestsAreInvalidArgument) {
  TestContainer container = StartAndRegister("bad");
  std::vector<v1::ExecStart> starts;
  starts.push_back(MakeStart("bad", {}));
  starts.push_back(MakeStart("bad", {std::string("a\0b", 3)}));
  starts.push_back(MakeStart("bad", {"true"}));
  starts.back().add_env("NOEQUALS");
  starts.push_back(MakeStart("bad", {"true"}));
  starts.back().add_env("=value");
  for (const v1::ExecStart& start : starts) {
    SCOPED_TRACE(start.DebugString());
    ExecResult result = RunExec(daemon_->exec(), {start});
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  ExecResult unknown = Exec("no-such-container", {"true"});
  EXPECT_EQ(unknown.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.status.error_message(),
            "no container named no-such-container");
  Unregister("bad");
}

TEST_F(ExecTest, LargeOutputOnBothStreamsArrivesCompleteAndInOrder) {
  TestContainer container = StartAndRegister("big");
  // 64 MiB on each stream at once, in 16-byte lines that number
  // themselves, so that order and completeness are checked, not only size.
  constexpr int kLines = 64 * 1024 * 1024 / 16;
  std::string script =
      absl::StrCat("seq -w 1 ", kLines, " | sed 's/.*/o&-------/' & seq -w 1 ",
                   kLines, " | sed 's/.*/e&-------/' >&2; wait");
  ExecResult result = Exec("big", {"sh", "-c", script});
  ExpectExitCode(result, 0);
  ASSERT_EQ(result.stdout_bytes.size(), 64u * 1024 * 1024);
  ASSERT_EQ(result.stderr_bytes.size(), 64u * 1024 * 1024);
  for (int line = 1; line <= kLines; line += 4093) {
    SCOPED_TRACE(line);
    size_t at = static_cast<size_t>(line - 1) * 16;
    std::string number = absl::StrCat(line);
    number.insert(0, 7 - number.size(), '0');
    ASSERT_EQ(result.stdout_bytes.substr(at, 16), "o" + number + "-------\n");
    ASSERT_EQ(result.stderr_bytes.substr(at, 16), "e" + number + "-------\n");
  }
  Unregister("big");
}

TEST_F(ExecTest, StdinRoundTripsExactly) {
  TestContainer container = StartAndRegister("stdin");
  std::string input;
  for (uint32_t i = 0; i < 3 * 1024 * 1024; ++i) {
    input.push_back(static_cast<char>((i * 7919u) >> 3));
  }
  v1::ExecStart start = MakeStart("stdin", {"cat"});
  start.set_attach_stdin(true);
  ExecResult result = RunExec(daemon_->exec(), {start, input});
  ExpectExitCode(result, 0);
  EXPECT_TRUE(result.stdout_bytes == input)
      << "got " << result.stdout_bytes.size() << " bytes of " << input.size();

  // Without stdin attached the command reads end of file at once.
  ExecResult closed = Exec("stdin", {"wc", "-c"});
  ExpectExitCode(closed, 0);
  EXPECT_EQ(closed.stdout_bytes, "0\n");
  Unregister("stdin");
}

TEST_F(ExecTest, CommandThatExitsEndsTheCallDespiteEndlessStdin) {
  TestContainer container = StartAndRegister("endless");
  v1::ExecStart start = MakeStart("endless", {"head", "-c", "5"});
  start.set_attach_stdin(true);
  ExecCall call{start};
  call.endless_stdin = true;
  call.deadline = absl::Seconds(20);
  ExecResult result = RunExec(daemon_->exec(), call);
  ExpectExitCode(result, 0);
  EXPECT_EQ(result.stdout_bytes, "yyyyy");
  Unregister("endless");
}

TEST_F(ExecTest, BackgroundChildHoldingStdoutDoesNotHoldTheExitStatus) {
  TestContainer container = StartAndRegister("bg");
  absl::Time before = absl::Now();
  ExecResult result = Exec("bg", {"sh", "-c", "sleep 30 & echo started"});
  ExpectExitCode(result, 0);
  EXPECT_EQ(result.stdout_bytes, "started\n");
  // The drain timeout is 1 s by default; the sleep holds stdout for 30 s.
  EXPECT_LT(absl::Now() - before, absl::Seconds(20));
  EXPECT_TRUE(daemon_->Children().empty());
  Unregister("bg");
}

// Waits up to 10 s for `pid` to disappear from the host.
bool Disappears(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    if (kill(pid, 0) < 0 && errno == ESRCH) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST_F(ExecTest, CancelAndDeadlineKillAndReapTheCommand) {
  TestContainer container = StartAndRegister("cancel");
  {
    grpc::ClientContext context;
    auto stream = daemon_->exec().Exec(&context);
    v1::ExecRequest first;
    *first.mutable_start() = MakeStart("cancel", {"sleep", "1000"});
    ASSERT_TRUE(stream->Write(first));
    v1::ExecResponse started;
    ASSERT_TRUE(stream->Read(&started));
    context.TryCancel();
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
    EXPECT_TRUE(Disappears(started.started().pid()));
  }

  ExecCall call{MakeStart("cancel", {"sleep", "1000"})};
  call.deadline = absl::Milliseconds(1500);
  ExecResult result = RunExec(daemon_->exec(), call);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(result.started.has_value());
  EXPECT_TRUE(Disappears(result.started->pid()));
  EXPECT_TRUE(daemon_->Children().empty());
  Unregister("cancel");
}

TEST_F(ExecTest, ThousandExecsLeakNoDescriptorAndNoChild) {
  TestContainer container = StartAndRegister("many");
  ExpectExitCode(Exec("many", {"true"}), 0);
  int before = daemon_->OpenDescriptorCount();
  for (int i = 0; i < 1000; ++i) {
    ExecResult result = Exec("many", {"true"});
    ASSERT_TRUE(result.status.ok())
        << i << ": " << result.status.error_message();
  }
  EXPECT_EQ(daemon_->OpenDescriptorCount(), before);
  EXPECT_TRUE(daemon_->Children().empty());
  Unregister("many");
}

TEST_F(ExecTest, ExitedContainerIsRefused) {
  TestContainer container = StartAndRegister("gone");
  ASSERT_TRUE(container.Kill(SIGKILL).ok());
  ASSERT_TRUE(container.WaitExited().ok());
  ExecResult result = Exec("gone", {"true"});
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(result.status.error_message(), "container gone exited");
  Unregister("gone");
}

// Creates a process with pid `pid` (clone3 with set_tid) that waits to be
// killed.  Only async-signal-safe calls in the child: the test process
// has gRPC threads.
pid_t CloneWithPid(pid_t pid) {
  pid_t set_tid[1] = {pid};
  struct clone_args args = {};
  args.exit_signal = SIGCHLD;
  args.set_tid = reinterpret_cast<uintptr_t>(set_tid);
  args.set_tid_size = 1;
  pid_t child = static_cast<pid_t>(syscall(SYS_clone3, &args, sizeof(args)));
  if (child == 0) {
    for (;;) {
      pause();
    }
  }
  return child;
}

TEST_F(ExecTest, ReusedPidIsNeverAttachedTo) {
  TestContainer container = StartAndRegister("reused");
  pid_t pid = container.pid();
  ASSERT_TRUE(container.Kill(SIGKILL).ok());
  ASSERT_TRUE(container.WaitExited().ok());

  // A new process now holds the container's pid, in the host's namespaces.
  pid_t impostor = CloneWithPid(pid);
  ASSERT_EQ(impostor, pid) << "clone3(set_tid): " << strerror(errno);
  absl::StatusOr<ino_t> impostor_mnt = NamespaceInodeOf(pid, "mnt");
  ASSERT_TRUE(impostor_mnt.ok());

  ExecResult result = Exec("reused", {"sh", "-c", "echo attached"});
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(result.status.error_message(), "container reused exited");
  EXPECT_EQ(result.stdout_bytes, "");

  // The impostor is untouched: alive, same namespaces, no children.
  EXPECT_EQ(kill(impostor, 0), 0);
  EXPECT_EQ(*NamespaceInodeOf(pid, "mnt"), *impostor_mnt);
  EXPECT_EQ(ReadFile(absl::StrCat("/proc/", pid, "/task/", pid, "/children")),
            "");
  kill(impostor, SIGKILL);
  waitpid(impostor, nullptr, 0);
  Unregister("reused");
}

TEST_F(ExecTest, ContainerWithoutUserNamespaceLeavesItOut) {
  TestContainerOptions options;
  options.user_namespace = false;
  absl::StatusOr<TestContainer> container = TestContainer::Start(options);
  ASSERT_TRUE(container.ok()) << container.status();
  absl::StatusOr<v1::Container> registered =
      RegisterPid(daemon_->containers(), "nouserns", container->pid());
  ASSERT_TRUE(registered.ok()) << registered.status();
  for (const v1::Namespace& ns : registered->namespaces()) {
    SCOPED_TRACE(ns.type());
    EXPECT_EQ(ns.joined(), ns.type() != v1::NAMESPACE_TYPE_USER);
  }

  ExecResult result = Exec("nouserns", {"readlink", "/proc/self/ns/mnt"});
  ExpectExitCode(result, 0);
  EXPECT_EQ(result.stdout_bytes,
            absl::StrCat("mnt:[", *container->NamespaceInode("mnt"), "]\n"));
  Unregister("nouserns");
}

TEST_F(ExecTest, ProcessSharingAttachdsNamespacesNeedsNoSecondFork) {
  // A plain child of the test shares every namespace with attachd: the
  // worker joins nothing and runs the command itself.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    for (;;) {
      pause();
    }
  }
  ASSERT_TRUE(RegisterPid(daemon_->containers(), "host-process", child).ok());
  ExecResult result = Exec("host-process", {"/bin/sh", "-c", "echo $$"});
  ExpectExitCode(result, 0);
  ASSERT_TRUE(result.started.has_value());
  EXPECT_EQ(result.started->pid(), result.started->container_pid());
  EXPECT_EQ(result.stdout_bytes, absl::StrCat(result.started->pid(), "\n"));
  EXPECT_TRUE(daemon_->Children().empty());
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  Unregister("host-process");
}

// The host pids of the live processes in `container`'s pid namespace
// other than its init.
std::vector<pid_t> OthersInPidNamespace(const TestContainer& container) {
  std::vector<pid_t> others;
  absl::StatusOr<ino_t> pid_ns = container.NamespaceInode("pid");
  DIR* proc = opendir("/proc");
  while (struct dirent* entry = proc != nullptr ? readdir(proc) : nullptr) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid) || pid == container.pid()) {
      continue;
    }
    // A killed process whose parent died is reparented to the container's
    // init, which is `sleep` and never reaps: zombies are not counted.
    std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
    size_t close = stat.rfind(')');
    bool zombie = close != std::string::npos && close + 2 < stat.size() &&
                  stat[close + 2] == 'Z';
    absl::StatusOr<ino_t> ns = NamespaceInodeOf(pid, "pid");
    if (!zombie && ns.ok() && pid_ns.ok() && *ns == *pid_ns) {
      others.push_back(pid);
    }
  }
  if (proc != nullptr) {
    closedir(proc);
  }
  return others;
}

// True once `container` has no process but its init, within 5 s.
bool OnlyInitRemains(const TestContainer& container) {
  for (int i = 0; i < 100; ++i) {
    if (OthersInPidNamespace(container).empty()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// A shell that starts two grandchildren ignoring SIGTERM and waits.
constexpr char kStubbornTree[] =
    "trap '' TERM; (trap '' TERM; sleep 1000) & (trap '' TERM; sleep 1000) & "
    "echo ready; wait";

TEST_F(ExecTest, TimeoutKillsTheCommandAndItsStubbornGrandchildren) {
  TestContainer container = StartAndRegister("timeout");
  v1::ExecStart start = MakeStart("timeout", {"sh", "-c", kStubbornTree});
  start.mutable_timeout()->set_nanos(700 * 1000 * 1000);
  absl::Time before = absl::Now();
  ExecResult result = RunExec(daemon_->exec(), {start});
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.stdout_bytes, "ready\n");
  ASSERT_TRUE(result.exit.has_value());
  EXPECT_EQ(result.exit->signal(), SIGKILL);
  EXPECT_TRUE(result.exit->timed_out());
  EXPECT_GE(absl::Now() - before, absl::Milliseconds(700));
  EXPECT_TRUE(OnlyInitRemains(container));
  EXPECT_TRUE(daemon_->Children().empty());

  // A command that ends in time is not marked.
  start = MakeStart("timeout", {"true"});
  start.mutable_timeout()->set_seconds(30);
  result = RunExec(daemon_->exec(), {start});
  ExpectExitCode(result, 0);
  EXPECT_FALSE(result.exit->timed_out());
  Unregister("timeout");
}

TEST_F(ExecTest, CancelKillsTheCommandAndItsStubbornGrandchildren) {
  TestContainer container = StartAndRegister("cancel-tree");
  grpc::ClientContext context;
  auto stream = daemon_->exec().Exec(&context);
  v1::ExecRequest first;
  *first.mutable_start() =
      MakeStart("cancel-tree", {"sh", "-c", kStubbornTree});
  ASSERT_TRUE(stream->Write(first));
  v1::ExecResponse response;
  ASSERT_TRUE(stream->Read(&response));  // started
  ASSERT_TRUE(stream->Read(&response));  // "ready"
  EXPECT_EQ(response.stdout_data(), "ready\n");
  // sh and two sleeps (each subshell exec'd its sleep).
  EXPECT_EQ(OthersInPidNamespace(container).size(), 3u);
  context.TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(OnlyInitRemains(container));
  Unregister("cancel-tree");
}

// A descendant that left the command's session and process group is
// still in the command's own cgroup, and dies with it.
constexpr char kEscapingTree[] = "setsid sleep 1000 & echo ready; sleep 1000";

TEST_F(ExecTest, TimeoutAndCancelKillDescendantsThatLeftTheSession) {
  TestContainer container = StartAndRegister("escape");
  v1::ExecStart start = MakeStart("escape", {"sh", "-c", kEscapingTree});
  start.mutable_timeout()->set_nanos(500 * 1000 * 1000);
  ExecResult result = RunExec(daemon_->exec(), {start});
  ASSERT_TRUE(result.exit.has_value());
  EXPECT_TRUE(result.exit->timed_out());
  EXPECT_TRUE(result.started->own_cgroup());
  EXPECT_TRUE(OnlyInitRemains(container));

  grpc::ClientContext context;
  auto stream = daemon_->exec().Exec(&context);
  v1::ExecRequest first;
  *first.mutable_start() = MakeStart("escape", {"sh", "-c", kEscapingTree});
  ASSERT_TRUE(stream->Write(first));
  v1::ExecResponse response;
  ASSERT_TRUE(stream->Read(&response));  // started
  ASSERT_TRUE(stream->Read(&response));  // "ready"
  // The escaped sleep and the shell, which exec'd its last sleep.
  EXPECT_EQ(OthersInPidNamespace(container).size(), 2u);
  context.TryCancel();
  stream->Finish();
  EXPECT_TRUE(OnlyInitRemains(container));
  Unregister("escape");
}

TEST_F(ExecTest, SignalMessagesReachTheCommand) {
  TestContainer container = StartAndRegister("signals");
  for (int signal_number : {SIGTERM, SIGINT, SIGHUP, SIGUSR2}) {
    SCOPED_TRACE(signal_number);
    grpc::ClientContext context;
    auto stream = daemon_->exec().Exec(&context);
    v1::ExecRequest request;
    *request.mutable_start() = MakeStart("signals", {"sleep", "1000"});
    ASSERT_TRUE(stream->Write(request));
    v1::ExecResponse response;
    ASSERT_TRUE(stream->Read(&response));
    ASSERT_TRUE(response.has_started());
    request.set_signal(signal_number);
    ASSERT_TRUE(stream->Write(request));
    ASSERT_TRUE(stream->Read(&response));
    ASSERT_TRUE(response.has_exit());
    EXPECT_EQ(response.exit().signal(), signal_number);
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
  }

  grpc::ClientContext context;
  auto stream = daemon_->exec().Exec(&context);
  v1::ExecRequest request;
  *request.mutable_start() = MakeStart("signals", {"sleep", "1000"});
  ASSERT_TRUE(stream->Write(request));
  request.set_signal(65);
  ASSERT_TRUE(stream->Write(request));
  v1::ExecResponse response;
  while (stream->Read(&response)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(OnlyInitRemains(container));
  Unregister("signals");
}

// Reads events from a Watch call until one of type EXEC_EXITED arrives or
// 10 s pass.
std::optional<v1::Event> NextExecExited(grpc::ClientReader<v1::Event>& events) {
  v1::Event event;
  while (events.Read(&event)) {
    if (event.type() == v1::Event::TYPE_EXEC_EXITED) {
      return event;
    }
  }
  return std::nullopt;
}

TEST_F(ExecTest, DetachedCommandRunsOnAndItsExitIsAnEvent) {
  TestContainer container = StartAndRegister("detach");
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(10));
  std::unique_ptr<grpc::ClientReader<v1::Event>> events =
      daemon_->containers().Watch(&watch_context, v1::WatchRequest());

  v1::ExecStart start =
      MakeStart("detach", {"sh", "-c", "echo discarded; sleep 0.5; exit 4"});
  start.set_detach(true);
  ExecResult result = RunExec(daemon_->exec(), {start});
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_TRUE(result.started.has_value());
  EXPECT_FALSE(result.exit.has_value());
  EXPECT_EQ(result.stdout_bytes, "");
  EXPECT_EQ(kill(result.started->pid(), 0), 0) << "still running";

  std::optional<v1::Event> exited = NextExecExited(*events);
  ASSERT_TRUE(exited.has_value());
  EXPECT_EQ(exited->container().name(), "detach");
  EXPECT_EQ(exited->exec_exited().pid(), result.started->pid());
  EXPECT_EQ(exited->exec_exited().container_pid(),
            result.started->container_pid());
  EXPECT_EQ(exited->exec_exited().status().code(), 4);
  EXPECT_TRUE(daemon_->Children().empty());
  watch_context.TryCancel();
  events->Finish();
  Unregister("detach");
}

TEST_F(ExecTest, DetachedCommandIsSignalledByPid) {
  TestContainer container = StartAndRegister("detach-signal");
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(10));
  std::unique_ptr<grpc::ClientReader<v1::Event>> events =
      daemon_->containers().Watch(&watch_context, v1::WatchRequest());
  v1::ExecStart start = MakeStart("detach-signal", {"sleep", "1000"});
  start.set_detach(true);
  ExecResult result = RunExec(daemon_->exec(), {start});
  ASSERT_TRUE(result.started.has_value());

  struct Case {
    std::string container;
    int pid;
    int signal;
    grpc::StatusCode code;
  };
  const std::vector<Case> cases = {
      {"detach-signal", result.started->pid() + 100000, SIGTERM,
       grpc::StatusCode::NOT_FOUND},
      {"other", result.started->pid(), SIGTERM, grpc::StatusCode::NOT_FOUND},
      {"detach-signal", result.started->pid(), 0,
       grpc::StatusCode::INVALID_ARGUMENT},
      {"detach-signal", result.started->pid(), SIGTERM, grpc::StatusCode::OK},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.container + " " + std::to_string(c.signal));
    grpc::ClientContext context;
    v1::SignalRequest request;
    request.set_container(c.container);
    request.set_pid(c.pid);
    request.set_signal(c.signal);
    v1::SignalResponse response;
    EXPECT_EQ(daemon_->exec().Signal(&context, request, &response).error_code(),
              c.code);
  }

  std::optional<v1::Event> exited = NextExecExited(*events);
  ASSERT_TRUE(exited.has_value());
  EXPECT_EQ(exited->exec_exited().status().signal(), SIGTERM);
  EXPECT_TRUE(OnlyInitRemains(container));
  watch_context.TryCancel();
  events->Finish();
  Unregister("detach-signal");
}

TEST_F(ExecTest, TerminalHasTheRequestedSizeFromTheFirstInstruction) {
  TestContainer container = StartAndRegister("tty-size");
  struct Case {
    uint32_t rows;
    uint32_t columns;
    std::string shown;
  };
  // No size given: 24x80, never 0x0.
  const std::vector<Case> cases = {
      {30, 100, "30 100\r\n"}, {2, 3, "2 3\r\n"}, {0, 0, "24 80\r\n"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.shown);
    v1::ExecStart start = MakeStart("tty-size", {"stty", "size"});
    start.set_tty(true);
    if (c.rows > 0) {
      start.mutable_window_size()->set_rows(c.rows);
      start.mutable_window_size()->set_columns(c.columns);
    }
    ExecResult result = RunExec(daemon_->exec(), {start});
    ExpectExitCode(result, 0);
    EXPECT_EQ(result.stdout_bytes, c.shown);
    EXPECT_EQ(result.stderr_bytes, "");
  }
  Unregister("tty-size");
}

TEST_F(ExecTest, TerminalIsOneOfTheContainersOwnPtys) {
  TestContainer container = StartAndRegister("tty-own");
  v1::ExecStart start = MakeStart(
      "tty-own", {"sh", "-c", "tty; ls -1 /dev/pts; echo err >&2; true"});
  start.set_tty(true);
  ExecResult result = RunExec(daemon_->exec(), {start});
  ExpectExitCode(result, 0);
  // The first terminal of the container's private devpts, listed in its
  // /dev/pts; stderr comes through the terminal too.
  EXPECT_EQ(result.stdout_bytes, "/dev/pts/0\r\n0\r\nptmx\r\nerr\r\n");
  Unregister("tty-own");
}

TEST_F(ExecTest, ResizesAreAppliedInOrderEvenBeforeTheCommandRuns) {
  TestContainer container = StartAndRegister("tty-resize");
  grpc::ClientContext context;
  auto stream = daemon_->exec().Exec(&context);
  v1::ExecRequest request;
  *request.mutable_start() = MakeStart(
      "tty-resize", {"sh", "-c", "sleep 0.3; stty size; read x; stty size"});
  request.mutable_start()->set_tty(true);
  request.mutable_start()->set_attach_stdin(true);
  ASSERT_TRUE(stream->Write(request));
  for (int size : {40, 41, 42}) {
    request.mutable_resize()->set_rows(size);
    request.mutable_resize()->set_columns(size * 3);
    ASSERT_TRUE(stream->Write(request));
  }
  std::string output;
  v1::ExecResponse response;
  while (output.find("126\r\n") == std::string::npos &&
         stream->Read(&response)) {
    output += response.stdout_data();
  }
  EXPECT_EQ(output, "42 126\r\n");
  request.mutable_resize()->set_rows(50);
  request.mutable_resize()->set_columns(60);
  ASSERT_TRUE(stream->Write(request));
  request.set_stdin_data("\n");
  ASSERT_TRUE(stream->Write(request));
  while (stream->Read(&response) && !response.has_exit()) {
    output += response.stdout_data();
  }
  // The newline typed is echoed by the terminal.
  EXPECT_EQ(output, "42 126\r\n\r\n50 60\r\n");
  EXPECT_EQ(response.exit().code(), 0);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  Unregister("tty-resize");
}

TEST_F(ExecTest, CtrlCOnTheTerminalInterruptsTheCommand) {
  TestContainer container = StartAndRegister("tty-intr");
  grpc::ClientContext context;
  auto stream = daemon_->exec().Exec(&context);
  v1::ExecRequest request;
  *request.mutable_start() =
      MakeStart("tty-intr", {"sh", "-c", "echo go; sleep 100"});
  request.mutable_start()->set_tty(true);
  request.mutable_start()->set_attach_stdin(true);
  ASSERT_TRUE(stream->Write(request));
  v1::ExecResponse response;
  std::string output;
  while (output.find("go") == std::string::npos && stream->Read(&response)) {
    output += response.stdout_data();
  }
  request.set_stdin_data("\x03");
  ASSERT_TRUE(stream->Write(request));
  while (stream->Read(&response) && !response.has_exit()) {
  }
  ASSERT_TRUE(response.has_exit());
  // The terminal turned ^C into SIGINT for the foreground process group.
  EXPECT_EQ(response.exit().signal(), SIGINT);
  stream->WritesDone();
  stream->Finish();
  Unregister("tty-intr");
}

// The nsfd-by-nsfd path of kernels before 5.8, forced on this one.
TEST(ExecFallbackTest, NamespaceFdPathJoinsTheSameNamespaces) {
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start({"--attach-mode", "nsfd"});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  EXPECT_THAT((*daemon)->Log(), HasSubstr("one nsfd per namespace"));
  absl::StatusOr<TestContainer> container = TestContainer::Start();
  ASSERT_TRUE(container.ok()) << container.status();
  ASSERT_TRUE(
      RegisterPid((*daemon)->containers(), "fallback", container->pid()).ok());

  std::vector<std::string> script;
  std::vector<std::string> expected;
  for (absl::string_view type : kNamespaceTypes) {
    script.push_back(absl::StrCat("readlink /proc/self/ns/", type));
    expected.push_back(
        absl::StrCat(type, ":[", *container->NamespaceInode(type), "]"));
  }
  ExecResult result = RunExec(
      (*daemon)->exec(),
      {MakeStart("fallback", {"sh", "-c", absl::StrJoin(script, ";")})});
  ExpectExitCode(result, 0);
  EXPECT_EQ(result.stdout_bytes, absl::StrJoin(expected, "\n") + "\n");

  ASSERT_TRUE(container->Kill(SIGKILL).ok());
  ASSERT_TRUE(container->WaitExited().ok());
  ExecResult exited =
      RunExec((*daemon)->exec(), {MakeStart("fallback", {"true"})});
  EXPECT_EQ(exited.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace attachd::testing
