// Turns a registered container into an AttachPlan (worker.h): which
// namespaces to join and by which means, and which cgroups to enter.
//
// The container's cgroups are read afresh for every plan (a container's
// process may be moved between cgroups by its manager); the cgroup mounts
// are read once, when the Attacher is created.
//
// Thread-safe after creation.

#ifndef ATTACHD_DAEMON_ATTACH_H_
#define ATTACHD_DAEMON_ATTACH_H_

#include <atomic>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/cgroups.h"
#include "daemon/registry.h"
#include "daemon/worker.h"

namespace attachd::daemon {

enum class AttachMode {
  // setns(pidfd, flags) where the kernel has it (Linux 5.8), else nsfds.
  kAuto,
  // setns(pidfd, flags) only.
  kPidfd,
  // One open /proc/PID/ns file and one setns per namespace, as before
  // Linux 5.8.  For old kernels, and to test that path on new ones.
  kNamespaceFds,
};

absl::StatusOr<AttachMode> ParseAttachMode(const std::string& text);

class Attacher {
 public:
  // UNIMPLEMENTED for kPidfd on a kernel without setns(pidfd).
  static absl::StatusOr<Attacher> Create(AttachMode mode);

  Attacher(Attacher&& other) noexcept;

  // A plan for `container`.  FAILED_PRECONDITION ("container NAME exited")
  // once its process is gone; errno-derived codes when a cgroup cannot be
  // opened.
  absl::StatusOr<AttachPlan> Plan(const ContainerRef& container) const;

  bool uses_pidfd_setns() const { return use_pidfd_setns_; }
  const std::vector<CgroupMount>& cgroup_mounts() const { return mounts_; }

 private:
  Attacher(bool use_pidfd_setns, std::vector<CgroupMount> mounts);

  bool use_pidfd_setns_;
  std::vector<CgroupMount> mounts_;
  // Set once a container's cgroup could not be reached, so the warning is
  // logged once.
  mutable std::atomic<bool> warned_unreachable_{false};
};

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_ATTACH_H_
