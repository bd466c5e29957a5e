#include "daemon/detached.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "daemon/syscalls.h"

namespace attachd::daemon {
namespace {

// How often a watcher checks whether attachd is stopping.
constexpr int kStopPollMilliseconds = 200;

v1::ExitStatus ToExitStatus(const siginfo_t& info) {
  v1::ExitStatus exit;
  if (info.si_code == CLD_EXITED) {
    exit.set_code(info.si_status);
  } else {
    exit.set_signal(info.si_status);
    exit.set_core_dumped(info.si_code == CLD_DUMPED);
  }
  return exit;
}

// Reads and drops what is in `fd`; closes it at end of file.
void Discard(UniqueFd& fd) {
  char buffer[16384];
  ssize_t n = read(fd.get(), buffer, sizeof(buffer));
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    fd.reset();
  }
}

}  // namespace

void KillCommandAndGroup(const SpawnedWorker& command,
                         const CommandCgroup* cgroup) {
  PidfdSendSignal(command.pidfd.get(), SIGKILL, nullptr, 0);
  kill(-command.pid, SIGKILL);
  if (cgroup != nullptr) {
    cgroup->Kill();
  }
}

v1::ExitStatus ReapCommand(const SpawnedWorker& command) {
  siginfo_t info = {};
  while (waitid(P_PIDFD, command.pidfd.get(), &info, WEXITED) < 0 &&
         errno == EINTR) {
  }
  return ToExitStatus(info);
}

DetachedCommands::~DetachedCommands() {
  absl::MutexLock lock(&mutex_);
  stopping_ = true;
  auto idle = [this]()
                  ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return watchers_ == 0; };
  mutex_.Await(absl::Condition(&idle));
}

void DetachedCommands::Adopt(const std::string& container,
                             SpawnedWorker command,
                             std::unique_ptr<CommandCgroup> cgroup,
                             UniqueFd stdout_fd, UniqueFd stderr_fd,
                             std::optional<absl::Time> kill_at) {
  pid_t pid = command.pid;
  {
    absl::MutexLock lock(&mutex_);
    Command& entry = commands_[{container, pid}];
    entry.process = std::move(command);
    entry.cgroup = std::move(cgroup);
    entry.outputs[0] = std::move(stdout_fd);
    entry.outputs[1] = std::move(stderr_fd);
    entry.kill_at = kill_at;
    ++watchers_;
  }
  std::thread([this, container, pid] { Watch(container, pid); }).detach();
}

absl::Status DetachedCommands::Signal(const std::string& container, pid_t pid,
                                      int signal) const {
  if (signal < 1 || signal > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("signal ", signal, " is not between 1 and 64"));
  }
  absl::MutexLock lock(&mutex_);
  auto it = commands_.find({container, pid});
  if (it == commands_.end()) {
    return absl::NotFoundError(absl::StrCat("no detached command with pid ",
                                            pid, " in container ", container));
  }
  // A command that exited but is not reaped yet takes the signal as a
  // zombie, harmlessly; the pidfd never reaches another process.
  if (PidfdSendSignal(it->second.process.pidfd.get(), signal, nullptr, 0) < 0) {
    return absl::ErrnoToStatus(errno, "pidfd_send_signal");
  }
  return absl::OkStatus();
}

void DetachedCommands::Watch(std::string container, pid_t pid) {
  // The entry's node stays put in the map until this thread erases it.
  Command* command;
  {
    absl::MutexLock lock(&mutex_);
    command = &commands_.at({container, pid});
  }
  bool timed_out = false;
  for (;;) {
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_) {
        commands_.erase({container, pid});
        --watchers_;
        return;
      }
    }

    int timeout = kStopPollMilliseconds;
    if (command->kill_at.has_value() && !timed_out) {
      int64_t left = absl::ToInt64Milliseconds(*command->kill_at - absl::Now());
      timeout = static_cast<int>(std::clamp<int64_t>(left, 0, timeout));
    }
    struct pollfd fds[3] = {
        {command->outputs[0].get(), POLLIN, 0},
        {command->outputs[1].get(), POLLIN, 0},
        {command->process.pidfd.get(), POLLIN, 0},
    };
    poll(fds, 3, timeout);
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents != 0) {
        Discard(command->outputs[i]);
      }
    }
    if (!timed_out && command->kill_at.has_value() &&
        absl::Now() >= *command->kill_at) {
      KillCommandAndGroup(command->process, command->cgroup.get());
      timed_out = true;
    }
    if (fds[2].revents & POLLIN) {
      break;
    }
  }

  v1::ExecExited exited;
  exited.set_pid(command->process.pid);
  exited.set_container_pid(command->process.container_pid);
  *exited.mutable_status() = ReapCommand(command->process);
  exited.mutable_status()->set_timed_out(timed_out);
  registry_->PublishExecExited(container, exited);

  absl::MutexLock lock(&mutex_);
  commands_.erase({container, pid});
  --watchers_;
}

}  // namespace attachd::daemon
