// Checks that TestContainer and RuncContainer make real containers: their
// own namespaces, id maps, root filesystem, cgroups and time offsets, as the
// host kernel reports them; and that nothing is left behind.

#include "tests/test_container.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/runc_container.h"

namespace attachd::testing {
namespace {

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// Each line with runs of blanks made one space, and blank lines dropped.
std::string NormalizeWhitespace(const std::string& text) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (!words.empty()) {
      lines.push_back(absl::StrJoin(words, " "));
    }
  }
  return absl::StrJoin(lines, "\n");
}

// The path of `controller`'s hierarchy ("" for cgroup2) in /proc/PID/cgroup.
std::string ProcCgroupPath(pid_t pid, const std::string& controller) {
  std::string cgroups = ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/cgroup"));
  for (absl::string_view line : absl::StrSplit(cgroups, '\n')) {
    std::vector<std::string> fields =
        absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3) {
      continue;
    }
    std::vector<std::string> controllers =
        absl::StrSplit(fields[1], ',', absl::SkipEmpty());
    bool match = controller.empty()
                     ? fields[0] == "0"
                     : absl::c_linear_search(controllers, controller);
    if (match) {
      return fields[2];
    }
  }
  return "";
}

// Waits until `predicate` holds, for at most 10 seconds.
template <typename Predicate>
bool Eventually(Predicate predicate) {
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!predicate()) {
    if (absl::Now() > deadline) {
      return false;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

// A command for the container's init that prints `script`'s output, then
// sleeps as pid 1 so the test can look at it.
std::vector<std::string> PrintThenSleep(const std::string& script) {
  return {"/bin/sh", "-c", absl::StrCat(script, "; exec sleep 1000000")};
}

// The first number of /proc/uptime's text, or -1.
double UptimeSeconds(const std::string& text) {
  double seconds = -1;
  return sscanf(text.c_str(), "%lf", &seconds) == 1 ? seconds : -1;
}

bool ProcessExited(int pidfd) {
  struct pollfd poll_fd = {pidfd, POLLIN, 0};
  return poll(&poll_fd, 1, 0) == 1;
}

int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

TEST(TestContainer, InitHasAllEightNamespacesOfItsOwn) {
  absl::StatusOr<TestContainer> container = TestContainer::Start();
  ASSERT_TRUE(container.ok()) << container.status();

  for (absl::string_view type : kNamespaceTypes) {
    SCOPED_TRACE(type);
    absl::StatusOr<ino_t> host = NamespaceInodeOf(getpid(), type);
    absl::StatusOr<ino_t> inside = container->NamespaceInode(type);
    ASSERT_TRUE(host.ok()) << host.status();
    ASSERT_TRUE(inside.ok()) << inside.status();
    EXPECT_NE(*inside, *host);
  }
}

TEST(TestContainer, WithoutUserNamespaceOnlyTheUserNamespaceIsTheHosts) {
  TestContainerOptions options;
  options.user_namespace = false;
  absl::StatusOr<TestContainer> container = TestContainer::Start(options);
  ASSERT_TRUE(container.ok()) << container.status();

  for (absl::string_view type : kNamespaceTypes) {
    SCOPED_TRACE(type);
    absl::StatusOr<ino_t> host = NamespaceInodeOf(getpid(), type);
    absl::StatusOr<ino_t> inside = container->NamespaceInode(type);
    ASSERT_TRUE(host.ok()) << host.status();
    ASSERT_TRUE(inside.ok()) << inside.status();
    EXPECT_EQ(*inside == *host, type == "user");
  }
  EXPECT_EQ(NormalizeWhitespace(ReadFileOrEmpty(
                absl::StrCat("/proc/", container->pid(), "/uid_map"))),
            "0 0 4294967295");
}

TEST(TestContainer, EveryNamespaceIsOwnedByTheContainerUserNamespace) {
  absl::StatusOr<TestContainer> container = TestContainer::Start();
  ASSERT_TRUE(container.ok()) << container.status();
  absl::StatusOr<ino_t> user = container->NamespaceInode("user");
  ASSERT_TRUE(user.ok()) << user.status();

  for (absl::string_view type : kNamespaceTypes) {
    if (type == "user") {
      continue;
    }
    SCOPED_TRACE(type);
    std::string path = absl::StrCat("/proc/", container->pid(), "/ns/", type);
    int nsfd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(nsfd, 0) << path << ": " << strerror(errno);
    int owner = ioctl(nsfd, NS_GET_USERNS);
    int saved_errno = errno;
    close(nsfd);
    ASSERT_GE(owner, 0) << "NS_GET_USERNS: " << strerror(saved_errno);
    struct stat st;
    ASSERT_EQ(fstat(owner, &st), 0);
    close(owner);
    EXPECT_EQ(st.st_ino, *user);
  }
}

TEST(TestContainer, OneSetnsOnThePidfdJoinsAllEightNamespaces) {
  absl::StatusOr<TestContainer> container = TestContainer::Start();
  ASSERT_TRUE(container.ok()) << container.status();
  constexpr int kAll = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID |
                       CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
                       CLONE_NEWCGROUP | CLONE_NEWTIME;

  // setns changes the caller, so a child does it; it only makes system
  // calls before _exit.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    _exit(setns(container->pidfd(), kAll) == 0 ? 0 : errno);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << strerror(WEXITSTATUS(status));
}

TEST(TestContainer, InitIsPidOneOfItsPidNamespace) {
  absl::StatusOr<TestContainer> container = TestContainer::Start();
  ASSERT_TRUE(container.ok()) << container.status();

  std::string status =
      ReadFileOrEmpty(absl::StrCat("/proc/", container->pid(), "/status"));
  EXPECT_NE(status.find(absl::StrCat("\nNSpid:\t", container->pid(), "\t1\n")),
            std::string::npos)
      << status;
}

TEST(TestContainer, UidMapMapsContainerRootToTheUidBase) {
  struct Case {
    std::optional<uid_t> uid_base;
    std::string uid_map;
  };
  for (const Case& test : std::vector<Case>{
           {std::nullopt, "0 100000 65536"},
           {200000, "0 200000 65536"},
       }) {
    SCOPED_TRACE(test.uid_map);
    TestContainerOptions options;
    if (test.uid_base.has_value()) {
      options.uid_base = *test.uid_base;
    }
    absl::StatusOr<TestContainer> container = TestContainer::Start(options);
    ASSERT_TRUE(container.ok()) << container.status();

    std::string proc = absl::StrCat("/proc/", container->pid());
    EXPECT_EQ(NormalizeWhitespace(ReadFileOrEmpty(proc + "/uid_map")),
              test.uid_map);
    EXPECT_EQ(NormalizeWhitespace(ReadFileOrEmpty(proc + "/gid_map")),
              test.uid_map);
  }
}

TEST(TestContainer, RootIsTheBusyboxTree) {
  absl::StatusOr<TestContainer> container = TestContainer::Start();
  ASSERT_TRUE(container.ok()) << container.status();

  std::string root = absl::StrCat("/proc/", container->pid(), "/root");
  struct stat inside;
  struct stat host;
  ASSERT_EQ(stat((root + "/bin/busybox").c_str(), &inside), 0);
  ASSERT_EQ(stat((BusyboxRootfs() + "/bin/busybox").c_str(), &host), 0);
  EXPECT_EQ(inside.st_dev, host.st_dev);
  EXPECT_EQ(inside.st_ino, host.st_ino);
  EXPECT_TRUE(Exists(root + "/bin/sha256sum"));
  EXPECT_FALSE(Exists(root + "/usr/lib")) << "the host's root is visible";
  EXPECT_EQ(ReadFileOrEmpty(root + "/etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\n"
            "app:x:1000:1000:app:/tmp:/bin/sh\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
}

TEST(TestContainer, CommandSeesTheContainerFromInside) {
  TestContainerOptions options;
  options.hostname = "probe-host";
  options.command = PrintThenSleep(
      "touch /tmp/marker; echo \"$(hostname) $(id -u) $$ $(ls /dev/null) "
      "$(cat /proc/self/uid_map)\"");
  absl::StatusOr<TestContainer> container = TestContainer::Start(options);
  ASSERT_TRUE(container.ok()) << container.status();

  ASSERT_TRUE(Eventually([&] {
    return container->Output().find('\n') != std::string::npos;
  })) << container->Output();
  EXPECT_EQ(NormalizeWhitespace(container->Output()),
            "probe-host 0 1 /dev/null 0 100000 65536");
  // /tmp is the container's own tmpfs, not the shared root's directory.
  EXPECT_TRUE(
      Exists(absl::StrCat("/proc/", container->pid(), "/root/tmp/marker")));
  EXPECT_FALSE(Exists(BusyboxRootfs() + "/tmp/marker"));
}

TEST(TestContainer, TimeOffsetMovesTheContainersClocks) {
  TestContainerOptions options;
  options.time_offset_seconds = 100000;
  options.command = PrintThenSleep("cut -d ' ' -f 1 /proc/uptime");
  absl::StatusOr<TestContainer> container = TestContainer::Start(options);
  ASSERT_TRUE(container.ok()) << container.status();

  EXPECT_EQ(NormalizeWhitespace(ReadFileOrEmpty(
                absl::StrCat("/proc/", container->pid(), "/timens_offsets"))),
            "monotonic 100000 0\nboottime 100000 0");
  ASSERT_TRUE(Eventually([&] {
    return container->Output().find('\n') != std::string::npos;
  })) << container->Output();
  double inside = UptimeSeconds(container->Output());
  double host = UptimeSeconds(ReadFileOrEmpty("/proc/uptime"));
  ASSERT_GT(inside, 0) << container->Output();
  EXPECT_NEAR(inside - host, 100000, 10);
}

TEST(TestContainer, CgroupsAreTheOnesMadeForIt) {
  TestContainerOptions options;
  options.create_cgroups = true;
  options.command = PrintThenSleep("cat /proc/self/cgroup");
  absl::StatusOr<TestContainer> container = TestContainer::Start(options);
  ASSERT_TRUE(container.ok()) << container.status();

  ASSERT_FALSE(container->cgroups().empty());
  EXPECT_FALSE(container->cgroup2_path().empty());
  EXPECT_EQ(container->cgroup1_paths().size(), 1u);

  // Seen from inside, the cgroup namespace is rooted at those cgroups.
  ASSERT_TRUE(Eventually([&] {
    return container->Output().find("0::") != std::string::npos;
  })) << container->Output();
  for (absl::string_view line :
       absl::StrSplit(container->Output(), '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(absl::EndsWith(line, ":/")) << line;
  }

  std::string init_only = absl::StrCat(container->pid(), "\n");
  for (const ContainerCgroup& cgroup : container->cgroups()) {
    SCOPED_TRACE(cgroup.directory);
    EXPECT_EQ(ProcCgroupPath(container->pid(), cgroup.controller), cgroup.path);
    // Once `cat` has exited, only the init: the launcher stays in the
    // host's cgroups.
    std::string procs_file = cgroup.directory + "/cgroup.procs";
    Eventually([&] { return ReadFileOrEmpty(procs_file) == init_only; });
    EXPECT_EQ(ReadFileOrEmpty(procs_file), init_only);
  }
}

TEST(TestContainer, KillEndsTheContainerAndWaitExitedReportsTheSignal) {
  absl::StatusOr<TestContainer> container = TestContainer::Start();
  ASSERT_TRUE(container.ok()) << container.status();

  ASSERT_TRUE(container->Kill(SIGKILL).ok());
  absl::StatusOr<int> code = container->WaitExited();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 128 + SIGKILL);
  EXPECT_TRUE(ProcessExited(container->pidfd()));
  EXPECT_EQ(container->Kill(SIGKILL).code(), absl::StatusCode::kNotFound);
}

TEST(TestContainer, WaitExitedReturnsTheCommandsExitCode) {
  TestContainerOptions options;
  options.command = {"/bin/sh", "-c",
                     "trap 'exit 7' USR1; echo ready; "
                     "while true; do sleep 0.01; done"};
  absl::StatusOr<TestContainer> container = TestContainer::Start(options);
  ASSERT_TRUE(container.ok()) << container.status();

  // A pid namespace's init gets only the signals it has a handler for.
  ASSERT_TRUE(Eventually([&] { return container->Output() == "ready\n"; }))
      << container->Output();
  ASSERT_TRUE(container->Kill(SIGUSR1).ok());
  absl::StatusOr<int> code = container->WaitExited();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 7);
}

TEST(TestContainer, DestructorLeavesNoProcessesOrCgroups) {
  int init_pidfd = -1;
  pid_t launcher = 0;
  std::vector<std::string> cgroup_directories;
  {
    TestContainerOptions options;
    options.create_cgroups = true;
    absl::StatusOr<TestContainer> container = TestContainer::Start(options);
    ASSERT_TRUE(container.ok()) << container.status();
    init_pidfd = PidfdOpen(container->pid());
    ASSERT_GE(init_pidfd, 0);
    launcher = container->launcher_pid();
    for (const ContainerCgroup& cgroup : container->cgroups()) {
      cgroup_directories.push_back(cgroup.directory);
    }
  }

  EXPECT_TRUE(ProcessExited(init_pidfd));
  close(init_pidfd);
  // No child of this process is left, not even a zombie.
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_FALSE(Exists(absl::StrCat("/proc/", launcher)));
  for (const std::string& directory : cgroup_directories) {
    EXPECT_FALSE(Exists(directory)) << directory;
  }
}

TEST(TestContainer, MovedContainerStaysAliveUntilItsNewOwnerGoes) {
  absl::StatusOr<TestContainer> started = TestContainer::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  int init_pidfd = PidfdOpen(started->pid());
  ASSERT_GE(init_pidfd, 0);

  TestContainer moved = *std::move(started);
  { TestContainer gone = std::move(*started); }
  EXPECT_FALSE(ProcessExited(init_pidfd));
  EXPECT_GT(moved.pid(), 0);
  { TestContainer last = std::move(moved); }
  EXPECT_TRUE(ProcessExited(init_pidfd));
  close(init_pidfd);
}

TEST(TestContainer, StartReportsAFailedExec) {
  TestContainerOptions options;
  options.command = {"/bin/no-such-command"};
  absl::StatusOr<TestContainer> container = TestContainer::Start(options);

  ASSERT_FALSE(container.ok());
  EXPECT_EQ(container.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(container.status().message().find(
                "ctr_init: execve /bin/no-such-command: No such file or "
                "directory"),
            std::string::npos)
      << container.status();
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);
}

TEST(RuncContainer, StartsARunningContainerInItsOwnNamespaces) {
  std::string id = absl::StrCat("attachd-test-", getpid());
  absl::StatusOr<RuncContainer> container = RuncContainer::Start(id);
  ASSERT_TRUE(container.ok()) << container.status();

  ASSERT_GT(container->pid(), 0);
  EXPECT_EQ(kill(container->pid(), 0), 0);
  for (absl::string_view type : kNamespaceTypes) {
    SCOPED_TRACE(type);
    absl::StatusOr<ino_t> host = NamespaceInodeOf(getpid(), type);
    absl::StatusOr<ino_t> inside = NamespaceInodeOf(container->pid(), type);
    ASSERT_TRUE(host.ok()) << host.status();
    ASSERT_TRUE(inside.ok()) << inside.status();
    // runc's default config leaves out the user, cgroup and time namespaces.
    bool shared = type == "user" || type == "cgroup" || type == "time";
    EXPECT_EQ(*inside == *host, shared);
  }
  absl::StatusOr<std::string> list = container->Runc({"list", "--quiet"});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(*list, id + "\n");
}

TEST(RuncContainer, DestructorDeletesTheContainer) {
  int init_pidfd = -1;
  std::string state_dir;
  std::string bundle_dir;
  {
    absl::StatusOr<RuncContainer> container =
        RuncContainer::Start(absl::StrCat("attachd-test-", getpid(), "-d"));
    ASSERT_TRUE(container.ok()) << container.status();
    init_pidfd = PidfdOpen(container->pid());
    ASSERT_GE(init_pidfd, 0);
    state_dir = container->state_dir();
    bundle_dir = container->bundle_dir();
  }

  EXPECT_TRUE(Eventually([&] { return ProcessExited(init_pidfd); }));
  close(init_pidfd);
  EXPECT_FALSE(Exists(bundle_dir));
  // Without its state directory runc knows no container of that root.
  EXPECT_FALSE(Exists(state_dir));
}

}  // namespace
}  // namespace attachd::testing
