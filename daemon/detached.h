// Started commands after their call: the helpers that end and reap a
// command, and the table of detached commands (ExecStart.detach).
//
// A detached command keeps running after its Exec call has ended.  attachd
// stays its parent: a thread per command discards its output, kills it
// (and its process group) when its timeout passes, reaps it when it exits
// and publishes an EXEC_EXITED event.  ExecService.Signal reaches it
// through its pidfd until it is reaped.
//
// Threads: all members may be called from any thread.
// Limitation: one thread per detached command; thousands of detached
// commands mean thousands of mostly idle threads.

#ifndef ATTACHD_DAEMON_DETACHED_H_
#define ATTACHD_DAEMON_DETACHED_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "attachd/v1/attachd.pb.h"
#include "daemon/command_cgroup.h"
#include "daemon/registry.h"
#include "daemon/unique_fd.h"
#include "daemon/worker.h"

namespace attachd::daemon {

// SIGKILL to a started command, to its process group (a command runs in a
// session of its own, see command.h) and, if it has one, to everything in
// its own cgroup.  The command must not have been reaped: until then its
// pid, which is also the group's id, stays taken.
void KillCommandAndGroup(const SpawnedWorker& command,
                         const CommandCgroup* cgroup);

// Waits for the command to exit and reaps it.
v1::ExitStatus ReapCommand(const SpawnedWorker& command);

class DetachedCommands {
 public:
  // `registry` must outlive this object.
  explicit DetachedCommands(Registry* registry) : registry_(registry) {}
  // Stops watching: commands still running go on, unreaped by attachd (the
  // service manager or init reaps them once attachd has exited).
  ~DetachedCommands();

  DetachedCommands(const DetachedCommands&) = delete;
  DetachedCommands& operator=(const DetachedCommands&) = delete;

  // Takes over a started command of `container` and the read ends of its
  // stdout and stderr pipes.  `kill_at`: when its timeout passes.
  void Adopt(const std::string& container, SpawnedWorker command,
             std::unique_ptr<CommandCgroup> cgroup, UniqueFd stdout_fd,
             UniqueFd stderr_fd, std::optional<absl::Time> kill_at);

  // Sends `signal` to the detached command `pid` of `container`.
  // NOT_FOUND unless it is one and not yet reaped; INVALID_ARGUMENT for a
  // signal number outside 1..64.
  absl::Status Signal(const std::string& container, pid_t pid,
                      int signal) const;

 private:
  struct Command {
    SpawnedWorker process;
    std::unique_ptr<CommandCgroup> cgroup;
    UniqueFd outputs[2];
    std::optional<absl::Time> kill_at;
  };

  void Watch(std::string container, pid_t pid);

  Registry* const registry_;
  mutable absl::Mutex mutex_;
  std::map<std::pair<std::string, pid_t>, Command> commands_
      ABSL_GUARDED_BY(mutex_);
  int watchers_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_DETACHED_H_
