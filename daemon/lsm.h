// The Linux security module that labels processes, if any: AppArmor
// (profiles) or SELinux (contexts).  A command takes its container
// process's label by writing it to its own attr/exec file before execve,
// as runc does for `runc exec`.
//
// Limitation: untested here, no LSM on the test machines.  The detection
// and the "no LSM" path are tested; reading and applying a label is not.
//
// Thread-safe; allocates; not async-signal-safe.

#ifndef ATTACHD_DAEMON_LSM_H_
#define ATTACHD_DAEMON_LSM_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "daemon/unique_fd.h"

namespace attachd::daemon {

enum class Lsm { kNone, kAppArmor, kSELinux };

// The active one, detected on the first call and remembered: from
// /sys/kernel/security/lsm where securityfs is mounted, else from
// /sys/module/apparmor/parameters/enabled ("Y") and /sys/fs/selinux/enforce
// (present when selinuxfs is mounted, which SELinux needs to work).
Lsm ActiveLsm();

// Detection from the contents of /sys/kernel/security/lsm ("" if
// unreadable), /sys/module/apparmor/parameters/enabled ("" if unreadable)
// and whether /sys/fs/selinux/enforce exists.  SELinux wins if both are
// listed: only one of them can label processes at a time.
Lsm DetectLsm(absl::string_view lsm_list, absl::string_view apparmor_enabled,
              bool selinux_enforce_exists);

// One start-up log line: "no LSM (AppArmor/SELinux) is active: commands get
// no label", or which LSM labels commands.
std::string DescribeLsm(Lsm lsm);

// What a worker writes, and where, so that its execve takes a label.
// Empty `value`: nothing to write.
struct ExecLabel {
  // A path in the container's procfs, resolved by the worker.
  std::string path;
  std::string value;
};

// The label of a process, as its /proc/PID/attr/current (AppArmor: also
// attr/apparmor/current) reads, turned into an ExecLabel: AppArmor's
// "PROFILE (MODE)\n" becomes "exec PROFILE" (none for "unconfined"),
// SELinux's "CONTEXT\0" becomes "CONTEXT".
ExecLabel ExecLabelFromCurrent(Lsm lsm, absl::string_view current,
                               bool apparmor_directory);

// Reads the label of the pidfd's process (checked against `pidfd`, see
// process.h).  An empty ExecLabel for Lsm::kNone.  NOT_FOUND once the
// process has exited.
absl::StatusOr<ExecLabel> ReadExecLabel(Lsm lsm, const Pidfd& pidfd, pid_t pid);

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_LSM_H_
