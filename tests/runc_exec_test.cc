// Exec in a real OCI container started by runc, through the real daemon:
// the command lands in the container's namespaces and cgroups, as the host
// sees them, and its I/O and exit code come back intact.

#include <sys/types.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/daemon_harness.h"
#include "tests/runc_container.h"
#include "tests/test_container.h"

namespace attachd::testing {
namespace {

constexpr char kName[] = "runc";

// The string value of the first "key" in a JSON text, for simple values
// without escapes (such as the host name in a runc config).
std::optional<std::string> JsonStringValue(const std::string& json,
                                           const std::string& key) {
  size_t at = json.find(absl::StrCat("\"", key, "\""));
  if (at == std::string::npos) {
    return std::nullopt;
  }
  size_t colon = json.find(':', at + key.size() + 2);
  size_t open = json.find('"', colon);
  size_t close = json.find('"', open + 1);
  if (colon == std::string::npos || open == std::string::npos ||
      close == std::string::npos) {
    return std::nullopt;
  }
  return json.substr(open + 1, close - open - 1);
}

// One daemon and one runc container, registered as kName, for the suite.
class RuncExecTest : public SharedDaemonTest {
 protected:
  static void SetUpTestSuite() {
    SharedDaemonTest::SetUpTestSuite();
    ASSERT_NE(daemon_, nullptr);
    absl::StatusOr<RuncContainer> container =
        RuncContainer::Start(absl::StrCat("attachd-exec-", getpid()));
    ASSERT_TRUE(container.ok()) << container.status();
    absl::StatusOr<v1::Container> registered =
        RegisterPid(daemon_->containers(), kName, container->pid());
    ASSERT_TRUE(registered.ok()) << registered.status();
    container_ = new RuncContainer(std::move(*container));
    registered_ = new v1::Container(std::move(*registered));
  }
  static void TearDownTestSuite() {
    delete registered_;
    delete container_;
    registered_ = nullptr;
    container_ = nullptr;
    SharedDaemonTest::TearDownTestSuite();
  }

  void SetUp() override {
    ASSERT_NE(container_, nullptr) << "the suite's container did not start";
  }

  ExecResult Exec(const std::vector<std::string>& argv) {
    ExecCall call;
    call.start = MakeStart(kName, argv);
    return RunExec(daemon_->exec(), call);
  }

  static RuncContainer* container_;
  static v1::Container* registered_;
};

RuncContainer* RuncExecTest::container_ = nullptr;
v1::Container* RuncExecTest::registered_ = nullptr;

TEST_F(RuncExecTest, HostnameIsTheOneInTheBundleConfig) {
  std::optional<std::string> hostname = JsonStringValue(
      ReadFile(container_->bundle_dir() + "/config.json"), "hostname");
  ASSERT_TRUE(hostname.has_value());
  ASSERT_FALSE(hostname->empty());

  ExecResult result = Exec({"hostname"});
  ExpectExitCode(result, 0);
  EXPECT_EQ(result.stdout_bytes, *hostname + "\n");
  EXPECT_EQ(result.stderr_bytes, "");
}

TEST_F(RuncExecTest, CommandIsInEveryNamespaceOfTheRuncInit) {
  // runc unshares mnt, pid, net, ipc and uts; user, cgroup and time are the
  // host's, which the command keeps.
  std::vector<std::string> script;
  std::vector<std::string> expected;
  for (absl::string_view type : kNamespaceTypes) {
    script.push_back(absl::StrCat("readlink /proc/self/ns/", type));
    absl::StatusOr<ino_t> inode = NamespaceInodeOf(container_->pid(), type);
    ASSERT_TRUE(inode.ok()) << inode.status();
    expected.push_back(absl::StrCat(type, ":[", *inode, "]"));
  }
  ExecResult result = Exec({"sh", "-c", absl::StrJoin(script, "; ")});
  ExpectExitCode(result, 0);
  EXPECT_EQ(result.stdout_bytes, absl::StrJoin(expected, "\n") + "\n");
}

TEST_F(RuncExecTest, RegistrationJoinsExactlyTheNamespacesRuncUnshared) {
  const absl::flat_hash_set<v1::NamespaceType> unshared = {
      v1::NAMESPACE_TYPE_MNT, v1::NAMESPACE_TYPE_PID, v1::NAMESPACE_TYPE_NET,
      v1::NAMESPACE_TYPE_IPC, v1::NAMESPACE_TYPE_UTS};
  ASSERT_EQ(registered_->namespaces_size(), 8);
  for (const v1::Namespace& ns : registered_->namespaces()) {
    SCOPED_TRACE(v1::NamespaceType_Name(ns.type()));
    EXPECT_EQ(ns.joined(), unshared.contains(ns.type()));
  }
}

TEST_F(RuncExecTest, CommandIsInTheCgroupsOfTheRuncInit) {
  // runc's default config has no cgroup namespace: both sides see
  // absolute paths.  They match in every v1 hierarchy; in cgroup2 the
  // command has a cgroup of its own right below the init's.
  std::string init =
      ReadFile(absl::StrCat("/proc/", container_->pid(), "/cgroup"));
  ASSERT_NE(init, "");
  size_t cgroup2 = init.find("0::");
  ASSERT_NE(cgroup2, std::string::npos);
  std::string init_cgroup2 = init.substr(cgroup2 + 3);
  init_cgroup2.pop_back();  // '\n'

  ExecResult result = Exec({"cat", "/proc/self/cgroup"});
  ExpectExitCode(result, 0);
  ASSERT_TRUE(result.started.has_value());
  EXPECT_TRUE(result.started->own_cgroup());
  EXPECT_EQ(result.stdout_bytes.substr(0, cgroup2), init.substr(0, cgroup2));
  EXPECT_THAT(result.stdout_bytes.substr(cgroup2),
              ::testing::MatchesRegex(absl::StrCat(
                  "0::", init_cgroup2, "/attachd-exec-[0-9]+-[0-9]+\n")));
}

TEST_F(RuncExecTest, StdinRoundTripsThroughCat) {
  std::string input;
  for (uint32_t i = 0; i < 256 * 1024; ++i) {
    input.push_back(static_cast<char>((i * 131u) >> 2));
  }
  ExecCall call;
  call.start = MakeStart(kName, {"cat"});
  call.start.set_attach_stdin(true);
  call.stdin_bytes = input;
  ExecResult result = RunExec(daemon_->exec(), call);
  ExpectExitCode(result, 0);
  EXPECT_TRUE(result.stdout_bytes == input)
      << "got " << result.stdout_bytes.size() << " bytes of " << input.size();
}

TEST_F(RuncExecTest, ExitCodeOfTheCommandIsReported) {
  ExecResult result = Exec({"sh", "-c", "exit 3"});
  ExpectExitCode(result, 3);
  EXPECT_EQ(result.stdout_bytes, "");
  EXPECT_EQ(result.stderr_bytes, "");
}

}  // namespace
}  // namespace attachd::testing
