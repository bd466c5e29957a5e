#include "daemon/cgroups.h"

#include <errno.h>
#include <fcntl.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace attachd::daemon {
namespace {

// Decodes mountinfo's \ooo escapes.
std::string UnescapeMountinfo(absl::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      int value = 0;
      bool ok = true;
      for (size_t j = 1; j <= 3; ++j) {
        char c = field[i + j];
        ok = ok && c >= '0' && c <= '7';
        value = value * 8 + (c - '0');
      }
      if (ok) {
        out.push_back(static_cast<char>(value));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

// Whether the v1 mount serves a hierarchy with these controllers: every
// controller of the membership is one of the mount's super options.
bool MountServes(const CgroupMount& mount, const CgroupMembership& member) {
  if (member.hierarchy_id == 0) {
    return mount.unified;
  }
  if (mount.unified || member.controllers.empty()) {
    return false;
  }
  for (absl::string_view controller : absl::StrSplit(member.controllers, ',')) {
    if (std::find(mount.options.begin(), mount.options.end(), controller) ==
        mount.options.end()) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<std::vector<CgroupMembership>> ParseProcCgroup(
    absl::string_view text) {
  std::vector<CgroupMembership> memberships;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    // "ID:CONTROLLERS:PATH"; the path may itself contain ':'.
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::MaxSplits(':', 2));
    CgroupMembership member;
    if (parts.size() != 3 ||
        !absl::SimpleAtoi(parts[0], &member.hierarchy_id)) {
      return absl::InternalError(
          absl::StrCat("malformed /proc/PID/cgroup line: ", line));
    }
    member.controllers = std::string(parts[1]);
    member.path = std::string(parts[2]);
    memberships.push_back(std::move(member));
  }
  return memberships;
}

std::vector<CgroupMount> ParseCgroupMounts(absl::string_view mountinfo) {
  std::vector<CgroupMount> mounts;
  for (absl::string_view line :
       absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE
    // SUPEROPTS"
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 5 || dash == fields.end() || fields.end() - dash < 4) {
      continue;
    }
    absl::string_view fstype = dash[1];
    if (fstype != "cgroup" && fstype != "cgroup2") {
      continue;
    }
    CgroupMount mount;
    mount.unified = fstype == "cgroup2";
    mount.root = UnescapeMountinfo(fields[3]);
    mount.mount_point = UnescapeMountinfo(fields[4]);
    if (!mount.unified) {
      mount.options = absl::StrSplit(dash[3], ',');
    }
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

absl::StatusOr<std::string> CgroupDirectory(
    const CgroupMembership& membership,
    const std::vector<CgroupMount>& mounts) {
  for (const CgroupMount& mount : mounts) {
    if (!MountServes(mount, membership)) {
      continue;
    }
    absl::string_view path = membership.path;
    if (mount.root != "/" && !(absl::ConsumePrefix(&path, mount.root) &&
                               (path.empty() || path[0] == '/'))) {
      continue;
    }
    if (mount.root == "/") {
      path.remove_prefix(std::min<size_t>(1, path.size()));
      return absl::StrCat(mount.mount_point, "/", path);
    }
    return absl::StrCat(mount.mount_point, path);
  }
  return absl::NotFoundError(
      absl::StrCat("no mount serves cgroup ", membership.hierarchy_id, ":",
                   membership.controllers, ":", membership.path));
}

absl::StatusOr<CgroupTargets> OpenCgroupTargets(
    const std::vector<CgroupMembership>& memberships,
    const std::vector<CgroupMount>& mounts) {
  CgroupTargets targets;
  for (const CgroupMembership& member : memberships) {
    absl::StatusOr<std::string> directory = CgroupDirectory(member, mounts);
    if (!directory.ok()) {
      targets.unreachable.push_back(std::string(directory.status().message()));
      continue;
    }

    if (member.hierarchy_id == 0) {
      targets.cgroup2_directory.reset(
          open(directory->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!targets.cgroup2_directory.valid()) {
        return absl::ErrnoToStatus(errno, absl::StrCat("open ", *directory));
      }
      continue;
    }

    std::string procs = absl::StrCat(*directory, "/cgroup.procs");
    UniqueFd fd(open(procs.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) {
      return absl::ErrnoToStatus(errno, absl::StrCat("open ", procs));
    }
    targets.cgroup1_procs.push_back(std::move(fd));
  }
  return targets;
}

}  // namespace attachd::daemon
