#include "daemon/lsm.h"

#include <unistd.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "daemon/process.h"

namespace attachd::daemon {

Lsm DetectLsm(absl::string_view lsm_list, absl::string_view apparmor_enabled,
              bool selinux_enforce_exists) {
  if (!lsm_list.empty()) {
    std::vector<absl::string_view> names = absl::StrSplit(
        absl::StripAsciiWhitespace(lsm_list), ',', absl::SkipEmpty());
    bool apparmor = false;
    for (absl::string_view name : names) {
      if (name == "selinux") {
        return Lsm::kSELinux;
      }
      apparmor = apparmor || name == "apparmor";
    }
    return apparmor ? Lsm::kAppArmor : Lsm::kNone;
  }
  if (selinux_enforce_exists) {
    return Lsm::kSELinux;
  }
  return absl::StartsWith(apparmor_enabled, "Y") ? Lsm::kAppArmor : Lsm::kNone;
}

Lsm ActiveLsm() {
  static const Lsm active = [] {
    absl::StatusOr<std::string> list =
        ReadFileToString("/sys/kernel/security/lsm");
    absl::StatusOr<std::string> apparmor =
        ReadFileToString("/sys/module/apparmor/parameters/enabled");
    return DetectLsm(list.ok() ? *list : "", apparmor.ok() ? *apparmor : "",
                     access("/sys/fs/selinux/enforce", F_OK) == 0);
  }();
  return active;
}

std::string DescribeLsm(Lsm lsm) {
  switch (lsm) {
    case Lsm::kNone:
      break;
    case Lsm::kAppArmor:
      return "AppArmor is active: commands get their container process's "
             "profile";
    case Lsm::kSELinux:
      return "SELinux is active: commands get their container process's "
             "context";
  }
  return "no LSM (AppArmor/SELinux) is active: commands get no label";
}

ExecLabel ExecLabelFromCurrent(Lsm lsm, absl::string_view current,
                               bool apparmor_directory) {
  ExecLabel label;
  if (lsm == Lsm::kSELinux) {
    label.path = "/proc/self/attr/exec";
    label.value = std::string(absl::StripTrailingAsciiWhitespace(
        current.substr(0, current.find('\0'))));
  } else if (lsm == Lsm::kAppArmor) {
    // "PROFILE (enforce)\n"; a profile name may contain spaces, the mode
    // is the last word.
    label.path = apparmor_directory ? "/proc/self/attr/apparmor/exec"
                                    : "/proc/self/attr/exec";
    absl::string_view profile = absl::StripTrailingAsciiWhitespace(current);
    if (absl::EndsWith(profile, ")")) {
      profile = profile.substr(0, profile.rfind(" ("));
    }
    if (!profile.empty() && profile != "unconfined") {
      label.value = absl::StrCat("exec ", profile);
    }
  }
  return label;
}

absl::StatusOr<ExecLabel> ReadExecLabel(Lsm lsm, const Pidfd& pidfd,
                                        pid_t pid) {
  if (lsm == Lsm::kNone) {
    return ExecLabel();
  }

  // With LSM stacking (Linux 5.8) AppArmor has a directory of its own;
  // attr/current belongs to whichever LSM came first.
  bool apparmor_directory = false;
  absl::StatusOr<std::string> current;
  if (lsm == Lsm::kAppArmor) {
    current = ReadProcFile(pidfd, pid, "attr/apparmor/current");
    apparmor_directory = current.ok();
  }
  if (!apparmor_directory) {
    current = ReadProcFile(pidfd, pid, "attr/current");
  }
  if (!current.ok()) {
    return current.status();
  }
  return ExecLabelFromCurrent(lsm, *current, apparmor_directory);
}

}  // namespace attachd::daemon
