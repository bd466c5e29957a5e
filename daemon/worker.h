// Workers: processes that join a container and then do one job there.
//
// SpawnWorker() is the one path by which attachd acts inside a container.
// It forks a process that
//   1. is created directly in the container's cgroup2 cgroup (clone3 with
//      CLONE_INTO_CGROUP) and writes itself into each of the container's
//      cgroup v1 hierarchies;
//   2. joins every namespace in the plan with ONE setns(pidfd, flags) call,
//      all or nothing (or, on kernels older than 5.8, one nsfd at a time,
//      then checks that the pidfd's process is still alive);
//   3. if the plan joins a pid namespace, forks once more, because a pid
//      namespace applies only to children; the second fork uses
//      CLONE_PARENT, so that the process doing the job is the caller's own
//      child and the caller alone reaps it;
//   4. runs the caller's WorkerFunction.
//
// Threads: the daemon is multi-threaded, so everything between the fork
// and the WorkerFunction's end (or its execve) is async-signal-safe: no
// allocation, no locks, no logging.  Errors travel to the caller over a
// CLOEXEC pipe as fixed-size records.  Because the worker is a child of a
// multi-threaded process, the kernel's rule that only a single-threaded
// process may join a user namespace is met: the child has one thread.
//
// Root: joining a mount namespace sets the worker's root and working
// directory to that namespace's root, which is the container's root for
// containers that pivot_root (runc, LXC, systemd-nspawn).
// Limitation: a container that only chroot()ed inside a shared mount
// namespace is entered at the namespace's root, not at its chroot.
//
// Safety: the worker is non-dumpable from its first instruction, so no
// process of the container can ptrace it, read its memory or open its
// /proc/PID/exe (the daemon's binary); it closes every inherited
// descriptor it was not asked to keep before it joins anything.

#ifndef ATTACHD_DAEMON_WORKER_H_
#define ATTACHD_DAEMON_WORKER_H_

#include <sys/types.h>

#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "daemon/cgroups.h"
#include "daemon/namespaces.h"
#include "daemon/unique_fd.h"

namespace attachd::daemon {

// How a worker reaches a container.  Owns the descriptors it needs, except
// the pidfd, which must outlive the SpawnWorker() call.
struct AttachPlan {
  const Pidfd* pidfd = nullptr;
  // CLONE_NEW* flags to join; see NamespacesToJoin().
  int namespace_flags = 0;
  // If non-empty, the worker joins these one by one instead of calling
  // setns(pidfd, namespace_flags); see OpenNamespaceFds().
  std::vector<NamespaceFdToJoin> namespace_fds;
  CgroupTargets cgroups;
};

// The step of a worker that failed.
enum class WorkerStep : int {
  kCgroup = 1,      // joining a cgroup v1 hierarchy
  kNamespaces = 2,  // setns
  kFork = 3,        // the second fork, into the pid namespace
  kStdio = 4,       // setting up descriptors 0, 1, 2
  kCwd = 5,
  kCredentials = 6,
  kExec = 7,
  kJob = 8,  // anything else a WorkerFunction reports
};

// What a worker can do to talk to its spawner.  Async-signal-safe.
class WorkerContext {
 public:
  explicit WorkerContext(int report_fd) : report_fd_(report_fd) {}

  // Reports that `step` failed with `errno_value`; SpawnWorker() returns
  // it as an error.  Call at most once, then exit.
  void ReportFailure(WorkerStep step, int errno_value) const;

  // Tells the spawner that the job has started, so that SpawnWorker()
  // returns while the job goes on (a job that does not execve and runs
  // long).  Closes the report pipe: ReportFailure() does nothing after.
  void ReportStarted() const;

  // The report pipe's write end.  It is CLOEXEC, so a successful execve
  // closes it, which tells the spawner the job started.
  int report_fd() const { return report_fd_; }

 private:
  int report_fd_;
};

// The job.  Runs in the attached worker; must be async-signal-safe.  It
// may execve (and should then leave the report fd CLOEXEC), call
// ReportStarted() and go on working, or return the worker's exit code.
using WorkerFunction = int (*)(const WorkerContext& context, void* argument);

struct SpawnedWorker {
  // The worker's pid in attachd's pid namespace.  It is the caller's child:
  // the caller must reap it (waitid with P_PIDFD on `pidfd`).
  pid_t pid = -1;
  // Its pid in the container's pid namespace (equal to `pid` when the
  // plan joins no pid namespace).
  pid_t container_pid = -1;
  Pidfd pidfd;
};

// Spawns a worker as described above and waits until its job has started:
// until the WorkerFunction exec'd, returned, or reported a failure.
// `keep_fds` are the descriptors (besides 0, 1, 2 and the plan's) that the
// job needs; all others are closed in the worker.  `argument` is read by
// the worker in its own copy of the caller's memory.
//
// Errors: the worker's errno as a status (NOT_FOUND for ESRCH, which means
// the container's process is gone; PERMISSION_DENIED for EPERM; and so on)
// with a WorkerFailure payload (see GetWorkerFailure); INTERNAL if the
// worker died without a word.  On
// error nothing is left behind: every process started has been reaped.
//
// Thread-safe: may be called from any number of threads at once.
absl::StatusOr<SpawnedWorker> SpawnWorker(const AttachPlan& plan,
                                          absl::Span<const int> keep_fds,
                                          WorkerFunction function,
                                          void* argument);

struct WorkerFailure {
  WorkerStep step;
  int errno_value;
};

// The failed step of a status returned by SpawnWorker(), if it came from
// the worker.
std::optional<WorkerFailure> GetWorkerFailure(const absl::Status& status);

// `status` marked as the failure of `failure.step`, as SpawnWorker() marks
// a worker's; for a step the daemon itself decides (an unknown user name
// is a credentials failure the worker never gets to).
absl::Status WithWorkerFailure(absl::Status status,
                               const WorkerFailure& failure);

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_WORKER_H_
