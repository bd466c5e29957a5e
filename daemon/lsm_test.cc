#include "daemon/lsm.h"

#include <string>

#include "gtest/gtest.h"

namespace attachd::daemon {
namespace {

TEST(DetectLsm, ReadsTheListFirstThenTheModuleFiles) {
  struct Case {
    const char* lsm_list;
    const char* apparmor_enabled;
    bool selinux_enforce_exists;
    Lsm expected;
  };
  const Case cases[] = {
      {"lockdown,capability,landlock,yama,apparmor\n", "", false,
       Lsm::kAppArmor},
      {"capability,selinux\n", "", false, Lsm::kSELinux},
      {"capability,landlock,yama\n", "Y\n", true, Lsm::kNone},
      {"", "Y\n", false, Lsm::kAppArmor},
      {"", "N\n", false, Lsm::kNone},
      {"", "", true, Lsm::kSELinux},
      {"", "", false, Lsm::kNone},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.lsm_list);
    EXPECT_EQ(
        DetectLsm(c.lsm_list, c.apparmor_enabled, c.selinux_enforce_exists),
        c.expected);
  }
}

TEST(DescribeLsm, SaysWhatCommandsGet) {
  EXPECT_EQ(DescribeLsm(Lsm::kNone),
            "no LSM (AppArmor/SELinux) is active: commands get no label");
  EXPECT_EQ(DescribeLsm(Lsm::kAppArmor),
            "AppArmor is active: commands get their container process's "
            "profile");
}

TEST(ExecLabelFromCurrent, TurnsEachLsmsCurrentIntoItsExecForm) {
  struct Case {
    Lsm lsm;
    std::string current;
    bool apparmor_directory;
    std::string path;
    std::string value;
  };
  const Case cases[] = {
      {Lsm::kAppArmor, "docker-default (enforce)\n", true,
       "/proc/self/attr/apparmor/exec", "exec docker-default"},
      {Lsm::kAppArmor, "my profile (complain)\n", false, "/proc/self/attr/exec",
       "exec my profile"},
      {Lsm::kAppArmor, "unconfined\n", true, "/proc/self/attr/apparmor/exec",
       ""},
      {Lsm::kSELinux,
       std::string("system_u:system_r:container_t:s0:c1,c2\0", 39), false,
       "/proc/self/attr/exec", "system_u:system_r:container_t:s0:c1,c2"},
      {Lsm::kNone, "anything", false, "", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.current);
    ExecLabel label =
        ExecLabelFromCurrent(c.lsm, c.current, c.apparmor_directory);
    EXPECT_EQ(label.path, c.path);
    EXPECT_EQ(label.value, c.value);
  }
}

}  // namespace
}  // namespace attachd::daemon
