#include "daemon/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "daemon/status_macros.h"
#include "daemon/syscalls.h"

namespace attachd::daemon {
namespace {

constexpr char kFailurePayloadUrl[] = "type.attachd.dev/worker-failure";

// One record on the report pipe.  Smaller than PIPE_BUF, so each write is
// atomic even when the worker and its child both write.
struct Report {
  enum Kind : int32_t {
    kHostPid = 1,       // the second fork's pid, as the spawner sees it
    kContainerPid = 2,  // the job's own getpid(), in the container
    kFailure = 3,
  };
  int32_t kind;
  int32_t step;
  int32_t value;
};

// Everything the worker reads after the fork, prepared by the spawner.
struct Launch {
  const AttachPlan* plan;
  // Descriptors to keep, sorted ascending, all >= 3.
  const int* keep;
  size_t keep_count;
  int report_fd;
  WorkerFunction function;
  void* argument;
};

// Async-signal-safe.
void WriteReport(int fd, Report report) {
  while (write(fd, &report, sizeof(report)) < 0 && errno == EINTR) {
  }
}

// Async-signal-safe.  Closes every descriptor >= 3 not in the sorted
// `keep` list.
void CloseAllExcept(const int* keep, size_t keep_count) {
  unsigned int low = 3;
  for (size_t i = 0; i < keep_count; ++i) {
    unsigned int fd = static_cast<unsigned int>(keep[i]);
    if (fd > low) {
      CloseRange(low, fd - 1, /*cloexec_only=*/false);
    }
    low = std::max(low, fd + 1);
  }
  CloseRange(low, ~0U, /*cloexec_only=*/false);
}

// Async-signal-safe.  Raw clone3: glibc has no public wrapper, and its
// fork() runs atfork handlers that take locks.
pid_t Clone3(uint64_t flags, int* pidfd, int cgroup_fd) {
  struct clone_args args = {};
  args.flags = flags;
  args.pidfd = reinterpret_cast<uintptr_t>(pidfd);
  // With CLONE_PARENT the child inherits the caller's exit signal, and
  // clone3 insists that none is given.
  args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }
  return static_cast<pid_t>(syscall(SYS_clone3, &args, sizeof(args)));
}

// Async-signal-safe.  Joins the plan's namespaces, all at once when the
// kernel can.
int JoinNamespaces(const AttachPlan& plan) {
  if (plan.namespace_fds.empty()) {
    if (plan.namespace_flags == 0) {
      return 0;
    }
    return setns(plan.pidfd->get(), plan.namespace_flags);
  }

  for (const NamespaceFdToJoin& entry : plan.namespace_fds) {
    if (setns(entry.fd.get(), entry.clone_flag) < 0) {
      return -1;
    }
  }

  // The nsfds were opened by pid; the spawner checked the pidfd after
  // opening them.  Checking again here refuses a container that exited in
  // the meantime, as setns(pidfd) would.
  return PidfdSendSignal(plan.pidfd->get(), 0, nullptr, 0);
}

// Async-signal-safe.  The body of the first child.  Never returns.
[[noreturn]] void RunWorker(const Launch& launch) {
  WorkerContext context(launch.report_fd);

  // Die with the spawning thread if it dies while we attach, and let no
  // container process ptrace us or open our executable.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  prctl(PR_SET_DUMPABLE, 0);
  CloseAllExcept(launch.keep, launch.keep_count);

  for (const UniqueFd& procs : launch.plan->cgroups.cgroup1_procs) {
    if (write(procs.get(), "0", 1) < 0) {
      context.ReportFailure(WorkerStep::kCgroup, errno);
      _exit(1);
    }
  }

  if (JoinNamespaces(*launch.plan) < 0) {
    context.ReportFailure(WorkerStep::kNamespaces, errno);
    _exit(1);
  }

  if (!(launch.plan->namespace_flags & CLONE_NEWPID)) {
    // The job runs in this process: it must not die with the spawning
    // thread (the death signal would survive an execve).
    prctl(PR_SET_PDEATHSIG, 0);
    WriteReport(launch.report_fd, {Report::kContainerPid, 0, getpid()});
    _exit(launch.function(context, launch.argument));
  }

  pid_t child = Clone3(CLONE_PARENT, nullptr, -1);
  if (child < 0) {
    context.ReportFailure(WorkerStep::kFork, errno);
    _exit(1);
  }
  if (child == 0) {
    WriteReport(launch.report_fd, {Report::kContainerPid, 0, getpid()});
    _exit(launch.function(context, launch.argument));
  }
  WriteReport(launch.report_fd, {Report::kHostPid, 0, child});
  _exit(0);
}

// What the spawner learned from the report pipe.
struct ReportSummary {
  pid_t host_pid = -1;
  pid_t container_pid = -1;
  bool failed = false;
  WorkerFailure failure = {WorkerStep::kJob, 0};
};

absl::StatusOr<ReportSummary> ReadReports(int fd) {
  ReportSummary summary;
  Report report;
  for (;;) {
    ssize_t n = read(fd, &report, sizeof(report));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return absl::ErrnoToStatus(errno, "read worker report pipe");
    }
    if (n == 0) {
      return summary;
    }
    if (n != sizeof(report)) {
      return absl::InternalError("short record on the worker report pipe");
    }
    if (report.kind == Report::kHostPid) {
      summary.host_pid = report.value;
    } else if (report.kind == Report::kContainerPid) {
      summary.container_pid = report.value;
    } else if (report.kind == Report::kFailure && !summary.failed) {
      summary.failed = true;
      summary.failure = {static_cast<WorkerStep>(report.step), report.value};
    }
  }
}

void Reap(idtype_t type, id_t id) {
  siginfo_t info;
  while (waitid(type, id, &info, WEXITED) < 0 && errno == EINTR) {
  }
}

const char* StepDescription(WorkerStep step) {
  switch (step) {
    case WorkerStep::kCgroup:
      return "join cgroup";
    case WorkerStep::kNamespaces:
      return "setns";
    case WorkerStep::kFork:
      return "fork into pid namespace";
    case WorkerStep::kStdio:
      return "set up stdio";
    case WorkerStep::kCwd:
      return "chdir";
    case WorkerStep::kCredentials:
      return "set credentials";
    case WorkerStep::kExec:
      return "execve";
    case WorkerStep::kJob:
      break;
  }
  return "run job";
}

absl::Status FailureStatus(const WorkerFailure& failure) {
  return WithWorkerFailure(
      absl::ErrnoToStatus(failure.errno_value, StepDescription(failure.step)),
      failure);
}

// Sorted, de-duplicated descriptors the worker keeps.
std::vector<int> KeptDescriptors(const AttachPlan& plan,
                                 absl::Span<const int> extra, int report_fd) {
  std::vector<int> keep(extra.begin(), extra.end());
  keep.push_back(plan.pidfd->get());
  keep.push_back(report_fd);
  for (const NamespaceFdToJoin& entry : plan.namespace_fds) {
    keep.push_back(entry.fd.get());
  }
  for (const UniqueFd& procs : plan.cgroups.cgroup1_procs) {
    keep.push_back(procs.get());
  }
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  keep.erase(
      std::remove_if(keep.begin(), keep.end(), [](int fd) { return fd < 3; }),
      keep.end());
  return keep;
}

}  // namespace

void WorkerContext::ReportFailure(WorkerStep step, int errno_value) const {
  WriteReport(report_fd_,
              {Report::kFailure, static_cast<int32_t>(step), errno_value});
}

void WorkerContext::ReportStarted() const { close(report_fd_); }

absl::StatusOr<SpawnedWorker> SpawnWorker(const AttachPlan& plan,
                                          absl::Span<const int> keep_fds,
                                          WorkerFunction function,
                                          void* argument) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
    return absl::ErrnoToStatus(errno, "pipe2");
  }
  UniqueFd report_read(pipe_fds[0]);
  UniqueFd report_write(pipe_fds[1]);
  std::vector<int> keep = KeptDescriptors(plan, keep_fds, report_write.get());
  Launch launch = {&plan,    keep.data(), keep.size(), report_write.get(),
                   function, argument};

  int worker_pidfd = -1;
  pid_t worker =
      Clone3(CLONE_PIDFD, &worker_pidfd, plan.cgroups.cgroup2_directory.get());
  if (worker < 0) {
    return absl::ErrnoToStatus(
        errno, plan.cgroups.cgroup2_directory.valid()
                   ? "clone3(CLONE_INTO_CGROUP) into the container's cgroup"
                   : "clone3");
  }
  if (worker == 0) {
    RunWorker(launch);
  }
  Pidfd worker_fd{UniqueFd(worker_pidfd)};
  report_write.reset();

  absl::StatusOr<ReportSummary> summary = ReadReports(report_read.get());
  bool forked = plan.namespace_flags & CLONE_NEWPID;
  if (forked) {
    Reap(P_PIDFD, worker_fd.get());
  }
  if (!summary.ok() || summary->failed) {
    if (!forked) {
      Reap(P_PIDFD, worker_fd.get());
    } else if (summary.ok() && summary->host_pid > 0) {
      Reap(P_PID, summary->host_pid);
    }
    return summary.ok() ? FailureStatus(summary->failure) : summary.status();
  }

  if (forked && summary->host_pid <= 0) {
    return absl::InternalError("worker exited before it forked its job");
  }

  SpawnedWorker spawned;
  spawned.container_pid = summary->container_pid;
  if (!forked) {
    spawned.pid = worker;
    spawned.pidfd = std::move(worker_fd);
    return spawned;
  }

  // The job's process is our unreaped child, so its pid cannot have been
  // reused and pidfd_open(2) by pid is safe.
  spawned.pid = summary->host_pid;
  int job_pidfd = PidfdOpen(spawned.pid, 0);
  if (job_pidfd < 0) {
    int saved_errno = errno;
    Reap(P_PID, spawned.pid);
    return absl::ErrnoToStatus(saved_errno, "pidfd_open(worker)");
  }
  spawned.pidfd = Pidfd(UniqueFd(job_pidfd));
  return spawned;
}

absl::Status WithWorkerFailure(absl::Status status,
                               const WorkerFailure& failure) {
  status.SetPayload(kFailurePayloadUrl,
                    absl::Cord(absl::StrCat(static_cast<int>(failure.step), ":",
                                            failure.errno_value)));
  return status;
}

std::optional<WorkerFailure> GetWorkerFailure(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kFailurePayloadUrl);
  if (!payload.has_value()) {
    return std::nullopt;
  }
  std::pair<std::string, std::string> parts =
      absl::StrSplit(std::string(*payload), ':');
  int step = 0;
  int errno_value = 0;
  if (!absl::SimpleAtoi(parts.first, &step) ||
      !absl::SimpleAtoi(parts.second, &errno_value)) {
    return std::nullopt;
  }
  return WorkerFailure{static_cast<WorkerStep>(step), errno_value};
}

}  // namespace attachd::daemon
