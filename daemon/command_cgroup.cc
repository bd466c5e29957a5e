#include "daemon/command_cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace attachd::daemon {
namespace {

// Removes the empty cgroup `name` below `parent`.  True once it is gone
// (removed now, or already, or its container's cgroup went first).
bool TryRemove(const UniqueFd& parent, const std::string& name) {
  return unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR) == 0 ||
         errno == ENOENT;
}

}  // namespace

CgroupJanitor::CgroupJanitor() : thread_([this] { Run(); }) {}

CgroupJanitor::~CgroupJanitor() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  thread_.join();
}

void CgroupJanitor::Remove(UniqueFd parent, std::string name) {
  absl::MutexLock lock(&mutex_);
  pending_.push_back({std::move(parent), std::move(name)});
}

size_t CgroupJanitor::pending() const {
  absl::MutexLock lock(&mutex_);
  return pending_.size();
}

void CgroupJanitor::Run() {
  absl::MutexLock lock(&mutex_);
  auto stopping = [this]()
                      ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return stopping_; };
  while (!mutex_.AwaitWithTimeout(absl::Condition(&stopping),
                                  absl::Milliseconds(500))) {
    std::vector<Pending> busy;
    for (Pending& cgroup : pending_) {
      if (!TryRemove(cgroup.parent, cgroup.name)) {
        busy.push_back(std::move(cgroup));
      }
    }
    pending_ = std::move(busy);
  }
}

absl::StatusOr<std::unique_ptr<CommandCgroup>> CommandCgroup::Create(
    int container_cgroup, CgroupJanitor* janitor) {
  static std::atomic<uint64_t> counter{0};
  std::string name =
      absl::StrCat("attachd-exec-", getpid(), "-", counter.fetch_add(1));
  UniqueFd parent(fcntl(container_cgroup, F_DUPFD_CLOEXEC, 3));
  if (!parent.valid()) {
    return absl::ErrnoToStatus(errno, "dup container cgroup");
  }
  if (mkdirat(parent.get(), name.c_str(), 0755) < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("mkdir cgroup ", name));
  }

  UniqueFd directory(
      openat(parent.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd kill(directory.valid() ? openat(directory.get(), "cgroup.kill",
                                           O_WRONLY | O_CLOEXEC)
                                  : -1);
  if (!kill.valid()) {
    int saved_errno = errno;
    TryRemove(parent, name);
    if (saved_errno == ENOENT) {
      return absl::UnimplementedError("no cgroup.kill (Linux 5.14)");
    }
    return absl::ErrnoToStatus(saved_errno, "open cgroup " + name);
  }
  return std::unique_ptr<CommandCgroup>(
      new CommandCgroup(std::move(parent), std::move(name),
                        std::move(directory), std::move(kill), janitor));
}

CommandCgroup::CommandCgroup(UniqueFd parent, std::string name,
                             UniqueFd directory, UniqueFd kill,
                             CgroupJanitor* janitor)
    : parent_(std::move(parent)),
      name_(std::move(name)),
      directory_(std::move(directory)),
      kill_(std::move(kill)),
      janitor_(janitor) {}

CommandCgroup::~CommandCgroup() {
  directory_.reset();
  kill_.reset();
  if (!TryRemove(parent_, name_)) {
    janitor_->Remove(std::move(parent_), std::move(name_));
  }
}

void CommandCgroup::Kill() const {
  ssize_t ignored = write(kill_.get(), "1", 1);
  (void)ignored;
}

}  // namespace attachd::daemon
