// ReadContainerFiles against a real container whose root filesystem holds
// one file of each kind the reader must handle.

#include "daemon/container_files.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/namespaces.h"
#include "daemon/process.h"
#include "gtest/gtest.h"
#include "tests/test_container.h"

namespace attachd::daemon {
namespace {

using ::attachd::testing::MakeBusyboxRootfs;
using ::attachd::testing::RemoveTree;
using ::attachd::testing::TestContainer;
using ::attachd::testing::TestContainerOptions;

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  ASSERT_TRUE(out.good()) << path;
}

// A container on a busybox root of its own, with a file of each kind in
// /files, and a plan that attaches to it.
class ContainerFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/attachd-files-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    ASSERT_EQ(chmod(dir, 0755), 0);
    rootfs_ = dir_ + "/rootfs";
    ASSERT_TRUE(MakeBusyboxRootfs(rootfs_).ok());

    // A host file that an escaping symlink would reach, and the file of the
    // same path inside the container.
    escape_ = absl::StrCat("/run/attachd-files-test-", getpid());
    ASSERT_EQ(mkdir(escape_.c_str(), 0755), 0);
    WriteFile(escape_ + "/passwd", "host\n");
    std::string inner = rootfs_ + escape_;
    ASSERT_EQ(mkdir((rootfs_ + "/run").c_str(), 0755), 0);
    ASSERT_EQ(mkdir(inner.c_str(), 0755), 0);
    WriteFile(inner + "/passwd", "container\n");

    std::string files = rootfs_ + "/files";
    ASSERT_EQ(mkdir(files.c_str(), 0755), 0);
    WriteFile(files + "/small", "one\ntwo\n");
    WriteFile(files + "/empty", "");
    WriteFile(files + "/exact", std::string(64 * 1024, 'x'));
    WriteFile(files + "/large", std::string(64 * 1024 + 1, 'x'));
    ASSERT_EQ(mkfifo((files + "/fifo").c_str(), 0644), 0);
    ASSERT_EQ(mkdir((files + "/dir").c_str(), 0755), 0);
    ASSERT_EQ(symlink("/proc/self/environ", (files + "/environ").c_str()), 0);
    ASSERT_EQ(symlink("/proc/self/fd/0", (files + "/magic").c_str()), 0);
    ASSERT_EQ(
        symlink(
            absl::StrCat("../../../../../../../..", escape_, "/passwd").c_str(),
            (files + "/escape").c_str()),
        0);

    TestContainerOptions options;
    options.rootfs = rootfs_;
    absl::StatusOr<TestContainer> container = TestContainer::Start(options);
    ASSERT_TRUE(container.ok()) << container.status();
    container_.emplace(std::move(*container));
    absl::StatusOr<Pidfd> pidfd = OpenPidfd(container_->pid());
    ASSERT_TRUE(pidfd.ok());
    pidfd_ = std::move(*pidfd);
    absl::StatusOr<NamespaceIds> own = ReadOwnNamespaceIds();
    absl::StatusOr<NamespaceIds> ids =
        ReadNamespaceIds(pidfd_, container_->pid());
    ASSERT_TRUE(own.ok() && ids.ok());
    plan_.pidfd = &pidfd_;
    plan_.namespace_flags = NamespacesToJoin(*ids, *own);
  }

  void TearDown() override {
    container_.reset();
    RemoveTree(dir_).IgnoreError();
    RemoveTree(escape_).IgnoreError();
  }

  std::string dir_;
  std::string rootfs_;
  std::string escape_;
  std::optional<TestContainer> container_;
  Pidfd pidfd_;
  AttachPlan plan_;
};

TEST_F(ContainerFilesTest, EachFileGetsItsContentsOrItsOwnError) {
  struct Case {
    std::string path;
    absl::StatusCode code;
    std::string contents_or_message;
  };
  const std::vector<Case> cases = {
      {"/files/small", absl::StatusCode::kOk, "one\ntwo\n"},
      {"/files/empty", absl::StatusCode::kOk, ""},
      {"/files/exact", absl::StatusCode::kOk, std::string(64 * 1024, 'x')},
      {"/files/escape", absl::StatusCode::kOk, "container\n"},
      {"/files/large", absl::StatusCode::kFailedPrecondition,
       "/files/large is larger than 65536 bytes"},
      {"/files/missing", absl::StatusCode::kNotFound,
       "/files/missing does not exist"},
      {"/files/fifo", absl::StatusCode::kFailedPrecondition,
       "/files/fifo is not a regular file"},
      {"/files/dir", absl::StatusCode::kFailedPrecondition,
       "/files/dir is not a regular file"},
      {"/files/environ", absl::StatusCode::kFailedPrecondition,
       "/files/environ is a procfs or sysfs file"},
      {"/files/magic", absl::StatusCode::kFailedPrecondition,
       "/files/magic is a symlink loop or a magic link (/proc/PID/fd/N)"},
  };
  std::vector<std::string> paths;
  for (const Case& c : cases) {
    paths.push_back(c.path);
  }
  ContainerFileLimits limits;
  limits.max_bytes = 64 * 1024;

  absl::StatusOr<std::vector<absl::StatusOr<std::string>>> files =
      ReadContainerFiles(plan_, paths, limits);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].path);
    const absl::StatusOr<std::string>& file = (*files)[i];
    EXPECT_EQ(file.status().code(), cases[i].code);
    if (file.ok()) {
      EXPECT_TRUE(*file == cases[i].contents_or_message)
          << file->size() << " bytes";
    } else {
      EXPECT_EQ(file.status().message(), cases[i].contents_or_message);
    }
  }
  // The worker was reaped: the test's only child is the container's
  // launcher.
  absl::StatusOr<std::string> children =
      ReadFileToString(absl::StrCat("/proc/self/task/", getpid(), "/children"));
  ASSERT_TRUE(children.ok());
  EXPECT_EQ(*children, absl::StrCat(container_->launcher_pid(), " "));
}

TEST_F(ContainerFilesTest, ExitedContainerFailsTheWholeRead) {
  ASSERT_TRUE(container_->Kill(SIGKILL).ok());
  ASSERT_TRUE(container_->WaitExited().ok());
  absl::StatusOr<std::vector<absl::StatusOr<std::string>>> files =
      ReadContainerFiles(plan_, {"/files/small"});
  EXPECT_EQ(files.status().code(), absl::StatusCode::kNotFound);
  std::optional<WorkerFailure> failure = GetWorkerFailure(files.status());
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->step, WorkerStep::kNamespaces);
  EXPECT_EQ(failure->errno_value, ESRCH);
}

}  // namespace
}  // namespace attachd::daemon
