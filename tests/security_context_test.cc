// The security context of exec'd commands, through the real daemon into
// real containers: capability sets and no_new_privs taken from the
// container's process (or kept, with `elevated`), user names resolved in
// the container's own /etc/passwd and /etc/group, and the LSM state
// reported at start.

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/daemon_harness.h"
#include "tests/runc_container.h"
#include "tests/test_container.h"

namespace attachd::testing {
namespace {

using ::testing::HasSubstr;

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  ASSERT_TRUE(out.good()) << path;
}

// The CapInh, CapPrm, CapEff, CapBnd, CapAmb and NoNewPrivs lines of a
// /proc/PID/status text, in the kernel's order.
std::string SecurityLines(const std::string& status) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (absl::StartsWith(line, "Cap") ||
        absl::StartsWith(line, "NoNewPrivs:")) {
      lines.emplace_back(line);
    }
  }
  return absl::StrJoin(lines, "\n") + "\n";
}

// The value of one "Key:\tvalue" line of a /proc/PID/status text.
std::string StatusValue(const std::string& status, const std::string& key) {
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (absl::ConsumePrefix(&line, key + ":\t")) {
      return std::string(line);
    }
  }
  return "(no " + key + ")";
}

std::string ProcessSecurityLines(pid_t pid) {
  return SecurityLines(ReadFile(absl::StrCat("/proc/", pid, "/status")));
}

// What the command itself sees, with the same filter.
constexpr char kShowSecurity[] =
    "grep -E '^(Cap|NoNewPrivs:)' /proc/self/status";

class SecurityContextTest : public SharedDaemonTest {
 protected:
  void TearDown() override {
    for (const std::string& name : registered_) {
      grpc::ClientContext context;
      v1::UnregisterRequest request;
      request.set_name(name);
      v1::UnregisterResponse response;
      daemon_->containers().Unregister(&context, request, &response);
    }
    for (const std::string& dir : directories_) {
      RemoveTree(dir).IgnoreError();
    }
  }

  TestContainer StartAndRegister(const std::string& name,
                                 TestContainerOptions options = {}) {
    absl::StatusOr<TestContainer> container = TestContainer::Start(options);
    EXPECT_TRUE(container.ok()) << container.status();
    Register(name, container->pid());
    return std::move(*container);
  }

  RuncContainer StartRuncAndRegister(const std::string& name) {
    absl::StatusOr<RuncContainer> container =
        RuncContainer::Start(absl::StrCat("attachd-", name, "-", getpid()));
    EXPECT_TRUE(container.ok()) << container.status();
    Register(name, container->pid());
    return std::move(*container);
  }

  void Register(const std::string& name, pid_t pid) {
    absl::StatusOr<v1::Container> registered =
        RegisterPid(daemon_->containers(), name, pid);
    EXPECT_TRUE(registered.ok()) << registered.status();
    registered_.push_back(name);
  }

  // A fresh busybox root filesystem under a new directory that the test
  // removes at its end.
  std::string MakeRootfs() {
    char dir[] = "/tmp/attachd-security-XXXXXX";
    EXPECT_NE(mkdtemp(dir), nullptr);
    chmod(dir, 0755);
    directories_.push_back(dir);
    absl::StatusOr<std::string> rootfs =
        MakeBusyboxRootfs(absl::StrCat(dir, "/rootfs"));
    EXPECT_TRUE(rootfs.ok()) << rootfs.status();
    return *rootfs;
  }

  ExecResult Exec(v1::ExecStart start) {
    ExecCall call;
    call.start = std::move(start);
    return RunExec(daemon_->exec(), call);
  }

  std::vector<std::string> registered_;
  std::vector<std::string> directories_;
};

TEST_F(SecurityContextTest, CommandHasTheInitsCapabilitiesInAUserNamespace) {
  TestContainer container = StartAndRegister("userns-caps");
  std::string init_lines = ProcessSecurityLines(container.pid());
  // The init is root in its own user namespace, with every capability
  // there, and no no_new_privs.
  std::string init_status =
      ReadFile(absl::StrCat("/proc/", container.pid(), "/status"));
  EXPECT_EQ(StatusValue(init_status, "CapEff"),
            StatusValue(init_status, "CapBnd"));
  EXPECT_EQ(StatusValue(init_status, "NoNewPrivs"), "0");

  ExecResult result =
      Exec(MakeStart("userns-caps", {"sh", "-c", kShowSecurity}));
  ExpectExitCode(result, 0);
  EXPECT_EQ(result.stdout_bytes, init_lines);
}

TEST_F(SecurityContextTest, RuncCommandHasTheInitsCapabilitiesNotAttachds) {
  RuncContainer container = StartRuncAndRegister("runc-caps");
  std::string init_lines = ProcessSecurityLines(container.pid());
  // runc's default config: CAP_KILL, CAP_NET_BIND_SERVICE and
  // CAP_AUDIT_WRITE, no inheritable or ambient ones, no_new_privs.
  EXPECT_EQ(init_lines,
            "CapInh:\t0000000000000000\n"
            "CapPrm:\t0000000020000420\n"
            "CapEff:\t0000000020000420\n"
            "CapBnd:\t0000000020000420\n"
            "CapAmb:\t0000000000000000\n"
            "NoNewPrivs:\t1\n");

  ExecResult result = Exec(MakeStart("runc-caps", {"sh", "-c", kShowSecurity}));
  ExpectExitCode(result, 0);
  EXPECT_EQ(result.stdout_bytes, init_lines);
}

TEST_F(SecurityContextTest, ElevatedRuncCommandKeepsAttachdsCapabilities) {
  RuncContainer container = StartRuncAndRegister("runc-elevated");
  std::string daemon_status =
      ReadFile(absl::StrCat("/proc/", daemon_->pid(), "/status"));

  v1::ExecStart start = MakeStart("runc-elevated", {"sh", "-c", kShowSecurity});
  start.set_elevated(true);
  ExecResult result = Exec(start);
  ExpectExitCode(result, 0);
  EXPECT_EQ(StatusValue(result.stdout_bytes, "CapBnd"),
            StatusValue(daemon_status, "CapBnd"));
  EXPECT_EQ(StatusValue(result.stdout_bytes, "CapEff"),
            StatusValue(daemon_status, "CapEff"));
  EXPECT_EQ(StatusValue(result.stdout_bytes, "CapPrm"),
            StatusValue(daemon_status, "CapPrm"));
  EXPECT_EQ(StatusValue(result.stdout_bytes, "NoNewPrivs"), "0");
  EXPECT_NE(StatusValue(result.stdout_bytes, "CapBnd"), "0000000020000420");
}

TEST_F(SecurityContextTest, NonRootCommandInRootContainerHasNoCapabilities) {
  RuncContainer container = StartRuncAndRegister("runc-user");
  std::string init_status =
      ReadFile(absl::StrCat("/proc/", container.pid(), "/status"));

  v1::ExecStart by_uid = MakeStart("runc-user", {"sh", "-c", kShowSecurity});
  by_uid.set_uid(1000);
  by_uid.set_gid(1000);
  v1::ExecStart by_name = MakeStart("runc-user", {"sh", "-c", kShowSecurity});
  by_name.set_user("app");
  for (const v1::ExecStart& start : {by_uid, by_name}) {
    SCOPED_TRACE(start.ShortDebugString());
    ExecResult result = Exec(start);
    ExpectExitCode(result, 0);
    EXPECT_EQ(result.stdout_bytes,
              absl::StrCat("CapInh:\t0000000000000000\n"
                           "CapPrm:\t0000000000000000\n"
                           "CapEff:\t0000000000000000\n"
                           "CapBnd:\t",
                           StatusValue(init_status, "CapBnd"),
                           "\n"
                           "CapAmb:\t0000000000000000\n"
                           "NoNewPrivs:\t1\n"));
  }
}

TEST_F(SecurityContextTest, UserNameResolvesInTheContainersFiles) {
  TestContainer container = StartAndRegister("users");
  struct Case {
    std::string user;
    std::string output;
  };
  // The busybox root: app is 1000:1000, home /tmp, in no group's list.
  const Case cases[] = {
      {"app", "1000\n1000\n1000\n/tmp\n"},
      {"app:nogroup", "1000\n65534\n65534\n/tmp\n"},
      {"1000", "1000\n1000\n1000\n/tmp\n"},
      {"1000:1000", "1000\n1000\n1000\n/tmp\n"},
      {"4321", "4321\n0\n0\n\n"},
      {"root", "0\n0\n0\n/root\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.user);
    v1::ExecStart start =
        MakeStart("users", {"sh", "-c", "id -u; id -g; id -G; echo $HOME"});
    start.set_user(c.user);
    ExecResult result = Exec(start);
    ExpectExitCode(result, 0);
    EXPECT_EQ(result.stdout_bytes, c.output);
  }
}

TEST_F(SecurityContextTest, UserGetsEveryGroupListingIt) {
  std::string rootfs = MakeRootfs();
  WriteFile(rootfs + "/etc/passwd",
            "# users\n"
            "root:x:0:0:root:/root:/bin/sh\n"
            "app:x:1000:1000:app:/home/app:/bin/sh\n");
  WriteFile(rootfs + "/etc/group",
            "root:x:0:\n"
            "app:x:1000:\n"
            "staff:x:50:bob,app\n"
            "audio:x:29:app\n"
            "nogroup:x:65534:\n");
  TestContainerOptions options;
  options.rootfs = rootfs;
  TestContainer container = StartAndRegister("groups", options);

  v1::ExecStart start = MakeStart(
      "groups", {"sh", "-c", "grep -E '^(Uid|Gid|Groups):' /proc/self/status"});
  start.set_user("app");
  ExecResult result = Exec(start);
  ExpectExitCode(result, 0);
  EXPECT_EQ(result.stdout_bytes,
            "Uid:\t1000\t1000\t1000\t1000\n"
            "Gid:\t1000\t1000\t1000\t1000\n"
            "Groups:\t29 50 \n");

  // Groups given in the request replace the file's.
  start.add_supplementary_gids(7);
  result = Exec(start);
  ExpectExitCode(result, 0);
  EXPECT_THAT(result.stdout_bytes, HasSubstr("Groups:\t7 \n"));
}

TEST_F(SecurityContextTest, HomeComesFromPasswdUnlessTheRequestSetsIt) {
  TestContainer container = StartAndRegister("home");
  // The container's process has HOME=/root; app's home is /tmp.
  v1::ExecStart inherited = MakeStart("home", {"sh", "-c", "echo $HOME"});
  inherited.set_user("app");
  inherited.set_inherit_env(true);
  ExecResult result = Exec(inherited);
  ExpectExitCode(result, 0);
  EXPECT_EQ(result.stdout_bytes, "/tmp\n");

  v1::ExecStart explicit_home = inherited;
  explicit_home.add_env("HOME=/elsewhere");
  result = Exec(explicit_home);
  ExpectExitCode(result, 0);
  EXPECT_EQ(result.stdout_bytes, "/elsewhere\n");

  // A numeric uid without `user` reads no passwd and sets no HOME.
  v1::ExecStart numeric = MakeStart("home", {"sh", "-c", "echo \"[$HOME]\""});
  numeric.set_uid(1000);
  result = Exec(numeric);
  ExpectExitCode(result, 0);
  EXPECT_EQ(result.stdout_bytes, "[]\n");
}

TEST_F(SecurityContextTest, BadUsersAreRefusedWithTheirReason) {
  TestContainer container = StartAndRegister("bad-users");
  struct Case {
    std::string user;
    bool with_uid;
    grpc::StatusCode code;
    std::string message;
  };
  const Case cases[] = {
      {"nobody-here", false, grpc::StatusCode::NOT_FOUND,
       "user \"nobody-here\" not found in container bad-users's /etc/passwd"},
      {"app:wheel", false, grpc::StatusCode::NOT_FOUND,
       "group \"wheel\" not found in container bad-users's /etc/group"},
      {"app", true, grpc::StatusCode::INVALID_ARGUMENT,
       "ExecStart.user excludes ExecStart.uid and ExecStart.gid"},
      {"app:", false, grpc::StatusCode::INVALID_ARGUMENT,
       "user \"app:\" is not USER or USER:GROUP (names or numeric ids)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.user);
    v1::ExecStart start = MakeStart("bad-users", {"true"});
    start.set_user(c.user);
    if (c.with_uid) {
      start.set_uid(1000);
    }
    ExecResult result = Exec(start);
    EXPECT_EQ(result.status.error_code(), c.code);
    EXPECT_EQ(result.status.error_message(), c.message);
    EXPECT_FALSE(result.started.has_value());

    // An unknown name is a credentials failure (attachctl exits 126).
    v1::ExecError details;
    bool has_details = !result.status.error_details().empty() &&
                       details.ParseFromString(result.status.error_details());
    EXPECT_EQ(has_details, c.code == grpc::StatusCode::NOT_FOUND);
    if (has_details) {
      EXPECT_EQ(details.step(), v1::ExecError::STEP_CREDENTIALS);
      EXPECT_EQ(details.errno_value(), ENOENT);
    }
  }
  EXPECT_TRUE(daemon_->Children().empty());
}

TEST_F(SecurityContextTest, PasswdSymlinksResolveInsideTheContainer) {
  // Followed from the host, the relative link would reach a host file;
  // inside the container its ".." stop at the container's root.
  std::string rootfs = MakeRootfs();
  std::string run_dir = absl::StrCat("/run/attachd-security-", getpid());
  ASSERT_EQ(mkdir(run_dir.c_str(), 0755), 0);
  directories_.push_back(run_dir);
  WriteFile(run_dir + "/passwd", "escaped:x:4242:4242::/escaped:/bin/sh\n");
  ASSERT_EQ(mkdir((rootfs + "/run").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((rootfs + run_dir).c_str(), 0755), 0);
  WriteFile(rootfs + run_dir + "/passwd",
            "inside:x:4343:4343::/inside:/bin/sh\n");
  ASSERT_EQ(unlink((rootfs + "/etc/passwd").c_str()), 0);
  ASSERT_EQ(
      symlink(
          absl::StrCat("../../../../../../../..", run_dir, "/passwd").c_str(),
          (rootfs + "/etc/passwd").c_str()),
      0);
  TestContainerOptions options;
  options.rootfs = rootfs;
  TestContainer container = StartAndRegister("link", options);

  v1::ExecStart start = MakeStart("link", {"sh", "-c", "id -u; echo $HOME"});
  start.set_user("inside");
  ExecResult result = Exec(start);
  ExpectExitCode(result, 0);
  EXPECT_EQ(result.stdout_bytes, "4343\n/inside\n");

  start.set_user("escaped");
  result = Exec(start);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(result.status.error_message(),
            "user \"escaped\" not found in container link's /etc/passwd");
}

TEST_F(SecurityContextTest, PasswdLinkToTheHostPathIsALoopInside) {
  // "/../../../etc/passwd" is the host's passwd only from the host; in the
  // container it is the link itself.
  std::string rootfs = MakeRootfs();
  ASSERT_EQ(unlink((rootfs + "/etc/passwd").c_str()), 0);
  ASSERT_EQ(symlink("/../../../etc/passwd", (rootfs + "/etc/passwd").c_str()),
            0);
  TestContainerOptions options;
  options.rootfs = rootfs;
  TestContainer container = StartAndRegister("loop", options);

  v1::ExecStart start = MakeStart("loop", {"id", "-u"});
  start.set_user("daemon");
  ExecResult result = Exec(start);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(result.status.error_message(),
            "cannot resolve user \"daemon\" in container loop: /etc/passwd is "
            "a symlink loop or a magic link (/proc/PID/fd/N)");
}

TEST_F(SecurityContextTest, OversizedOrSpecialPasswdIsRefused) {
  std::string big_rootfs = MakeRootfs();
  std::string line = "filler:x:5000:5000::/:/bin/sh\n";
  std::string big;
  while (big.size() <= (1 << 20)) {
    big += line;
  }
  WriteFile(big_rootfs + "/etc/passwd", big);
  TestContainerOptions big_options;
  big_options.rootfs = big_rootfs;
  TestContainer big_container = StartAndRegister("big-passwd", big_options);

  std::string fifo_rootfs = MakeRootfs();
  ASSERT_EQ(unlink((fifo_rootfs + "/etc/passwd").c_str()), 0);
  ASSERT_EQ(mkfifo((fifo_rootfs + "/etc/passwd").c_str(), 0644), 0);
  TestContainerOptions fifo_options;
  fifo_options.rootfs = fifo_rootfs;
  TestContainer fifo_container = StartAndRegister("fifo-passwd", fifo_options);

  v1::ExecStart start = MakeStart("big-passwd", {"true"});
  start.set_user("app");
  ExecResult result = Exec(start);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(result.status.error_message(),
            "cannot resolve user \"app\" in container big-passwd: /etc/passwd "
            "is larger than 1048576 bytes");

  start.set_container("fifo-passwd");
  result = Exec(start);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(result.status.error_message(),
            "cannot resolve user \"app\" in container fifo-passwd: "
            "/etc/passwd is not a regular file");
  EXPECT_TRUE(daemon_->Children().empty());
}

// What the daemon should say about LSMs on this machine, detected the way
// it detects them.
std::string ExpectedLsmLine() {
  std::string list = ReadFile("/sys/kernel/security/lsm");
  bool selinux = list.empty() ? access("/sys/fs/selinux/enforce", F_OK) == 0
                              : absl::StrContains(list, "selinux");
  bool apparmor =
      list.empty()
          ? absl::StartsWith(
                ReadFile("/sys/module/apparmor/parameters/enabled"), "Y")
          : absl::StrContains(list, "apparmor");
  if (selinux) {
    return "SELinux is active: commands get their container process's context";
  }
  if (apparmor) {
    return "AppArmor is active: commands get their container process's "
           "profile";
  }
  return "no LSM (AppArmor/SELinux) is active: commands get no label";
}

TEST_F(SecurityContextTest, StartupLogSaysWhetherCommandsGetAnLsmLabel) {
  std::string log = daemon_->Log();
  std::string expected = absl::StrCat("<6>", ExpectedLsmLine(), "\n");
  size_t at = log.find(expected);
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_EQ(log.find(expected, at + 1), std::string::npos) << log;
}

}  // namespace
}  // namespace attachd::testing
