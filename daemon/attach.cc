#include "daemon/attach.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/logging.h"
#include "daemon/process.h"
#include "daemon/status_macros.h"

namespace attachd::daemon {
namespace {

// A NOT_FOUND from a pidfd check means the container's process is gone.
absl::Status ExitedAs(const absl::Status& status, const std::string& name) {
  if (absl::IsNotFound(status)) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", name, " exited"));
  }
  return status;
}

// The v1 memberships of `container` that differ from attachd's own.  The
// worker starts in attachd's cgroups, so it need not move in a hierarchy
// where the container shares them; and a move is dear: the first write to
// a v1 cgroup.procs in a while waits for an RCU grace period (about 9 ms
// measured on the hybrid test machine).  attachd's cgroups are read each
// time because a service manager may move attachd.
absl::StatusOr<std::vector<CgroupMembership>> WithoutOwnCgroupV1(
    const std::vector<CgroupMembership>& container) {
  ATTACHD_ASSIGN_OR_RETURN(std::string text,
                           ReadFileToString("/proc/self/cgroup"));
  ATTACHD_ASSIGN_OR_RETURN(std::vector<CgroupMembership> own,
                           ParseProcCgroup(text));
  std::vector<CgroupMembership> needed;
  for (const CgroupMembership& member : container) {
    auto same = [&member](const CgroupMembership& mine) {
      return mine.hierarchy_id == member.hierarchy_id &&
             mine.path == member.path;
    };
    if (member.hierarchy_id == 0 ||
        std::find_if(own.begin(), own.end(), same) == own.end()) {
      needed.push_back(member);
    }
  }
  return needed;
}

}  // namespace

absl::StatusOr<AttachMode> ParseAttachMode(const std::string& text) {
  if (text == "auto") {
    return AttachMode::kAuto;
  }
  if (text == "pidfd") {
    return AttachMode::kPidfd;
  }
  if (text == "nsfd") {
    return AttachMode::kNamespaceFds;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown attach mode \"", text, "\": use auto, pidfd or nsfd"));
}

absl::StatusOr<Attacher> Attacher::Create(AttachMode mode) {
  bool kernel_has_pidfd_setns = KernelSupportsPidfdSetns();
  if (mode == AttachMode::kPidfd && !kernel_has_pidfd_setns) {
    return absl::UnimplementedError(
        "this kernel's setns() does not take a pidfd (Linux 5.8 or later)");
  }
  bool use_pidfd_setns = mode == AttachMode::kPidfd ||
                         (mode == AttachMode::kAuto && kernel_has_pidfd_setns);

  ATTACHD_ASSIGN_OR_RETURN(std::string mountinfo,
                           ReadFileToString("/proc/self/mountinfo"));
  return Attacher(use_pidfd_setns, ParseCgroupMounts(mountinfo));
}

Attacher::Attacher(bool use_pidfd_setns, std::vector<CgroupMount> mounts)
    : use_pidfd_setns_(use_pidfd_setns), mounts_(std::move(mounts)) {}

Attacher::Attacher(Attacher&& other) noexcept
    : use_pidfd_setns_(other.use_pidfd_setns_),
      mounts_(std::move(other.mounts_)) {}

absl::StatusOr<AttachPlan> Attacher::Plan(const ContainerRef& container) const {
  AttachPlan plan;
  plan.pidfd = &container.pidfd;
  plan.namespace_flags = container.namespaces_to_join;

  absl::StatusOr<std::string> text =
      ReadProcFile(container.pidfd, container.pid, "cgroup");
  if (!text.ok()) {
    return ExitedAs(text.status(), container.name);
  }
  ATTACHD_ASSIGN_OR_RETURN(std::vector<CgroupMembership> memberships,
                           ParseProcCgroup(*text));
  ATTACHD_ASSIGN_OR_RETURN(memberships, WithoutOwnCgroupV1(memberships));
  ATTACHD_ASSIGN_OR_RETURN(plan.cgroups,
                           OpenCgroupTargets(memberships, mounts_));
  if (!plan.cgroups.unreachable.empty() &&
      !warned_unreachable_.exchange(true)) {
    Log(LogLevel::kWarning,
        "container %s: commands are not placed in these cgroups, which no "
        "mount of attachd's reaches (warned once): %s",
        container.name, absl::StrJoin(plan.cgroups.unreachable, "; "));
  }

  if (!use_pidfd_setns_ && plan.namespace_flags != 0) {
    absl::StatusOr<std::vector<NamespaceFdToJoin>> fds =
        OpenNamespaceFds(container.pidfd, container.pid, plan.namespace_flags);
    if (!fds.ok()) {
      return ExitedAs(fds.status(), container.name);
    }
    plan.namespace_fds = std::move(*fds);
  }
  return plan;
}

}  // namespace attachd::daemon
