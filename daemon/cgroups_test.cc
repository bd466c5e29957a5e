#include "daemon/cgroups.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attachd::daemon {
namespace {

// The mounts of a hybrid host like the one the tests run on, plus a
// cgroup2 mount whose root is not "/" (as inside a cgroup namespace) and a
// path with an escaped space.
constexpr char kHybridMountinfo[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup "
    "rw,cpu,cpuacct\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup "
    "rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 "
    "cgroup2 rw,nsdelegate\n"
    "50 23 0:38 /sub /mnt/with\\040space rw - cgroup2 cgroup2 rw\n";

TEST(Cgroups, ParsesProcCgroupIncludingColonsInPaths) {
  absl::StatusOr<std::vector<CgroupMembership>> parsed =
      ParseProcCgroup("12:pids:/a\n1:name=systemd:/b:c\n0::/user.slice/x\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 3u);
  EXPECT_EQ((*parsed)[0].hierarchy_id, 12u);
  EXPECT_EQ((*parsed)[0].controllers, "pids");
  EXPECT_EQ((*parsed)[0].path, "/a");
  EXPECT_EQ((*parsed)[1].controllers, "name=systemd");
  EXPECT_EQ((*parsed)[1].path, "/b:c");
  EXPECT_EQ((*parsed)[2].hierarchy_id, 0u);
  EXPECT_EQ((*parsed)[2].controllers, "");
  EXPECT_EQ((*parsed)[2].path, "/user.slice/x");
}

TEST(Cgroups, RejectsMalformedProcCgroup) {
  EXPECT_FALSE(ParseProcCgroup("garbage\n").ok());
  EXPECT_FALSE(ParseProcCgroup("x:pids:/a\n").ok());
}

TEST(Cgroups, FindsOnlyCgroupMounts) {
  std::vector<CgroupMount> mounts = ParseCgroupMounts(kHybridMountinfo);
  ASSERT_EQ(mounts.size(), 5u);
  EXPECT_FALSE(mounts[0].unified);
  EXPECT_EQ(mounts[0].mount_point, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_THAT(mounts[0].options, testing::Contains("cpuacct"));
  EXPECT_TRUE(mounts[3].unified);
  EXPECT_EQ(mounts[4].mount_point, "/mnt/with space");
  EXPECT_EQ(mounts[4].root, "/sub");
}

TEST(Cgroups, MapsMembershipsToHostDirectories) {
  std::vector<CgroupMount> mounts = ParseCgroupMounts(kHybridMountinfo);
  struct Case {
    CgroupMembership member;
    std::string directory;
  };
  const std::vector<Case> cases = {
      {{0, "", "/ctr/a"}, "/sys/fs/cgroup/unified/ctr/a"},
      {{0, "", "/"}, "/sys/fs/cgroup/unified/"},
      {{3, "cpu,cpuacct", "/ctr"}, "/sys/fs/cgroup/cpu,cpuacct/ctr"},
      {{8, "pids", "/x/y"}, "/sys/fs/cgroup/pids/x/y"},
      {{1, "name=systemd", "/s"}, "/sys/fs/cgroup/systemd/s"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.member.path);
    absl::StatusOr<std::string> directory = CgroupDirectory(c.member, mounts);
    ASSERT_TRUE(directory.ok()) << directory.status();
    EXPECT_EQ(*directory, c.directory);
  }
}

TEST(Cgroups, UsesAMountWhoseRootHoldsThePath) {
  // Only the second cgroup2 mount (root /sub) is present.
  std::vector<CgroupMount> mounts = ParseCgroupMounts(
      "50 23 0:38 /sub /mnt/with\\040space rw - cgroup2 cgroup2 rw\n");
  absl::StatusOr<std::string> inside =
      CgroupDirectory({0, "", "/sub/ctr"}, mounts);
  ASSERT_TRUE(inside.ok()) << inside.status();
  EXPECT_EQ(*inside, "/mnt/with space/ctr");

  // "/subway" is not below "/sub".
  EXPECT_TRUE(
      absl::IsNotFound(CgroupDirectory({0, "", "/subway"}, mounts).status()));
}

TEST(Cgroups, UnknownHierarchyIsNotFound) {
  std::vector<CgroupMount> mounts = ParseCgroupMounts(kHybridMountinfo);
  EXPECT_TRUE(absl::IsNotFound(
      CgroupDirectory({9, "memory", "/ctr"}, mounts).status()));
}

}  // namespace
}  // namespace attachd::daemon
