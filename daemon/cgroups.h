// A container's cgroups, and the descriptors an attach uses to place a
// process in them.
//
// Both layouts are supported: pure cgroup2 (one unified hierarchy) and
// hybrid or legacy hosts (v1 controller hierarchies, with or without
// cgroup2 beside them).  Mount points come from /proc/self/mountinfo; no
// path is assumed.
//
// Paths in /proc/PID/cgroup and the root field of mountinfo are both
// relative to attachd's own cgroup namespace root, so a membership maps to
// the directory mount_point + (path - mount root).  A membership outside
// every mount's root cannot be reached and is reported as such.
//
// Thread-safe; allocates; not async-signal-safe.

#ifndef ATTACHD_DAEMON_CGROUPS_H_
#define ATTACHD_DAEMON_CGROUPS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "daemon/unique_fd.h"

namespace attachd::daemon {

// One line of /proc/PID/cgroup.
struct CgroupMembership {
  // 0 for cgroup2.
  unsigned hierarchy_id = 0;
  // v1: "cpu,cpuacct", "name=systemd"; cgroup2: empty.
  std::string controllers;
  std::string path;
};

// One cgroup or cgroup2 mount of /proc/self/mountinfo.
struct CgroupMount {
  bool unified = false;
  // v1: the super options (controllers, "name=...", flags); cgroup2: empty.
  std::vector<std::string> options;
  std::string root;
  std::string mount_point;
};

absl::StatusOr<std::vector<CgroupMembership>> ParseProcCgroup(
    absl::string_view text);

// Mountinfo escapes spaces and other bytes in paths as \ooo octal; they are
// decoded.
std::vector<CgroupMount> ParseCgroupMounts(absl::string_view mountinfo);

// The host directory of `membership`, or NOT_FOUND when no mount serves it.
absl::StatusOr<std::string> CgroupDirectory(
    const CgroupMembership& membership, const std::vector<CgroupMount>& mounts);

// Descriptors that place a new process in a container's cgroups.
struct CgroupTargets {
  // The cgroup2 directory (O_DIRECTORY), for clone3's CLONE_INTO_CGROUP;
  // invalid when the container has no reachable cgroup2 membership.
  UniqueFd cgroup2_directory;
  // cgroup.procs of each v1 hierarchy, opened for writing: writing "0"
  // moves the writer.
  std::vector<UniqueFd> cgroup1_procs;
  // Memberships that could not be reached (no mount), for a warning.
  std::vector<std::string> unreachable;
};

// Opens the targets for `memberships` (as read from /proc/PID/cgroup).
absl::StatusOr<CgroupTargets> OpenCgroupTargets(
    const std::vector<CgroupMembership>& memberships,
    const std::vector<CgroupMount>& mounts);

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_CGROUPS_H_
