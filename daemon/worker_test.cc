// SpawnWorker against real containers: what the worker is while it works
// inside a container, seen from the worker and from the container.

#include "daemon/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "daemon/attach.h"
#include "daemon/namespaces.h"
#include "daemon/process.h"
#include "daemon/syscalls.h"
#include "gtest/gtest.h"
#include "tests/test_container.h"

namespace attachd::daemon {
namespace {

using ::attachd::testing::TestContainer;

// Pipes shared with the job; the job writes its dumpable flag to `report`
// and then blocks reading `hold` until the test closes it.
struct HeldJob {
  int report;
  int hold;
};

int ReportDumpableAndHold(const WorkerContext& context, void* argument) {
  // Async-signal-safe: runs in a worker.
  const HeldJob& job = *static_cast<HeldJob*>(argument);
  context.ReportStarted();
  int dumpable = prctl(PR_GET_DUMPABLE);
  ssize_t ignored = write(job.report, &dumpable, sizeof(dumpable));
  (void)ignored;
  char byte;
  while (read(job.hold, &byte, 1) < 0 && errno == EINTR) {
  }
  return 0;
}

// From a process that joined the container (as its root), tries to open
// the worker's executable and to ptrace it; returns the two errnos packed.
int ProbeFromInside(int container_pidfd, pid_t worker_in_container) {
  pid_t child = fork();
  if (child == 0) {
    if (setns(container_pidfd, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) <
        0) {
      _exit(250);
    }
    pid_t grandchild = fork();
    if (grandchild == 0) {
      if (RawSetresuid(0, 0, 0) < 0) {
        _exit(251);
      }
      char path[64];
      snprintf(path, sizeof(path), "/proc/%d/exe", worker_in_container);
      int open_errno = open(path, O_RDONLY | O_CLOEXEC) < 0 ? errno : 0;
      int ptrace_errno =
          ptrace(PTRACE_ATTACH, worker_in_container, nullptr, nullptr) < 0
              ? errno
              : 0;
      _exit(open_errno * 16 + ptrace_errno);
    }
    int status = 0;
    waitpid(grandchild, &status, 0);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 252);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Worker, IsNonDumpableAndUnreachableFromTheContainerWhileItWorks) {
  absl::StatusOr<TestContainer> container = TestContainer::Start();
  ASSERT_TRUE(container.ok()) << container.status();
  absl::StatusOr<NamespaceIds> own = ReadOwnNamespaceIds();
  ASSERT_TRUE(own.ok());
  absl::StatusOr<Pidfd> pidfd = OpenPidfd(container->pid());
  ASSERT_TRUE(pidfd.ok());
  absl::StatusOr<NamespaceIds> ids = ReadNamespaceIds(*pidfd, container->pid());
  ASSERT_TRUE(ids.ok());

  AttachPlan plan;
  plan.pidfd = &*pidfd;
  plan.namespace_flags = NamespacesToJoin(*ids, *own);
  int report[2];
  int hold[2];
  ASSERT_EQ(pipe2(report, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(hold, O_CLOEXEC), 0);
  HeldJob job = {report[1], hold[0]};
  int keep[] = {report[1], hold[0]};
  absl::StatusOr<SpawnedWorker> worker =
      SpawnWorker(plan, keep, &ReportDumpableAndHold, &job);
  ASSERT_TRUE(worker.ok()) << worker.status();
  close(report[1]);
  close(hold[0]);

  int dumpable = -1;
  ASSERT_EQ(read(report[0], &dumpable, sizeof(dumpable)), sizeof(dumpable));
  EXPECT_EQ(dumpable, 0);
  EXPECT_GT(worker->container_pid, 1);

  // Container root may not open the daemon's binary through the worker nor
  // ptrace it: EACCES and EPERM.
  int probe = ProbeFromInside(container->pidfd(), worker->container_pid);
  EXPECT_EQ(probe, EACCES * 16 + EPERM)
      << "open errno " << probe / 16 << ", ptrace errno " << probe % 16;

  close(hold[1]);
  siginfo_t info = {};
  ASSERT_EQ(waitid(P_PIDFD, worker->pidfd.get(), &info, WEXITED), 0);
  EXPECT_EQ(info.si_code, CLD_EXITED);
  EXPECT_EQ(info.si_status, 0);
  close(report[0]);
}

TEST(Worker, SetnsFailureIsReportedWithItsStepAndNothingIsLeft) {
  absl::StatusOr<TestContainer> container = TestContainer::Start();
  ASSERT_TRUE(container.ok()) << container.status();
  absl::StatusOr<Pidfd> pidfd = OpenPidfd(container->pid());
  ASSERT_TRUE(pidfd.ok());
  ASSERT_TRUE(container->Kill(SIGKILL).ok());
  ASSERT_TRUE(container->WaitExited().ok());

  AttachPlan plan;
  plan.pidfd = &*pidfd;
  plan.namespace_flags = CLONE_NEWNS | CLONE_NEWPID;
  absl::StatusOr<SpawnedWorker> worker = SpawnWorker(
      plan, {}, [](const WorkerContext&, void*) { return 0; }, nullptr);
  ASSERT_FALSE(worker.ok());
  std::optional<WorkerFailure> failure = GetWorkerFailure(worker.status());
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->step, WorkerStep::kNamespaces);
  EXPECT_EQ(failure->errno_value, ESRCH);
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

}  // namespace
}  // namespace attachd::daemon
