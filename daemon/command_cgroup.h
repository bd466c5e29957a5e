// A cgroup2 cgroup of its own for each command: a child of its container's
// cgroup, named "attachd-exec-<attachd's pid>-<n>".  The worker is cloned
// straight into it (CLONE_INTO_CGROUP), so the command and everything it
// starts, including descendants that leave its session or process group,
// are in it; writing "1" to its cgroup.kill (Linux 5.14) kills them all at
// once on timeout, cancel or client loss.  The container's own limits
// still apply: the cgroup is below the container's.
//
// Removal: the cgroup is removed when its owner is destroyed, if it is
// empty; processes that outlive the command (background jobs after a
// normal exit) keep it until they exit, and the CgroupJanitor removes it
// then, so that the container's manager can remove the container's cgroup.
//
// Threads: a CommandCgroup is used by one thread at a time; the janitor is
// thread-safe.

#ifndef ATTACHD_DAEMON_COMMAND_CGROUP_H_
#define ATTACHD_DAEMON_COMMAND_CGROUP_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/unique_fd.h"

namespace attachd::daemon {

// Removes command cgroups that were still busy when their command ended,
// once they are empty.  Retries every half second on its own thread.
class CgroupJanitor {
 public:
  CgroupJanitor();
  // Stops retrying; cgroups still busy are left in place.
  ~CgroupJanitor();

  CgroupJanitor(const CgroupJanitor&) = delete;
  CgroupJanitor& operator=(const CgroupJanitor&) = delete;

  // Takes the parent directory and the name of a cgroup to remove.
  void Remove(UniqueFd parent, std::string name);

  // How many cgroups wait for removal.
  size_t pending() const;

 private:
  struct Pending {
    UniqueFd parent;
    std::string name;
  };
  void Run();

  mutable absl::Mutex mutex_;
  std::vector<Pending> pending_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

class CommandCgroup {
 public:
  // Creates the cgroup below the container's cgroup2 directory
  // `container_cgroup` (not owned).  UNIMPLEMENTED where the kernel has no
  // cgroup.kill; errno-derived codes when mkdir fails.  The caller then
  // kills the process group instead.
  static absl::StatusOr<std::unique_ptr<CommandCgroup>> Create(
      int container_cgroup, CgroupJanitor* janitor);
  // Removes the cgroup, or hands it to the janitor while it is busy.
  ~CommandCgroup();

  CommandCgroup(const CommandCgroup&) = delete;
  CommandCgroup& operator=(const CommandCgroup&) = delete;

  // The cgroup's directory, for CLONE_INTO_CGROUP.
  int directory() const { return directory_.get(); }
  const std::string& name() const { return name_; }

  // SIGKILLs every process in the cgroup.
  void Kill() const;

 private:
  CommandCgroup(UniqueFd parent, std::string name, UniqueFd directory,
                UniqueFd kill, CgroupJanitor* janitor);

  UniqueFd parent_;
  std::string name_;
  UniqueFd directory_;
  UniqueFd kill_;
  CgroupJanitor* const janitor_;
};

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_COMMAND_CGROUP_H_
