#include "daemon/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/process.h"
#include "daemon/status_macros.h"
#include "daemon/syscalls.h"

namespace attachd::daemon {

const std::array<NamespaceKind, kNamespaceKindCount> kNamespaceKinds = {{
    {CLONE_NEWUSER, "user"},
    {CLONE_NEWNS, "mnt"},
    {CLONE_NEWPID, "pid"},
    {CLONE_NEWNET, "net"},
    {CLONE_NEWIPC, "ipc"},
    {CLONE_NEWUTS, "uts"},
    {CLONE_NEWCGROUP, "cgroup"},
    {CLONE_NEWTIME, "time"},
}};

namespace {

absl::StatusOr<NamespaceIds> StatNamespaceFiles(const std::string& dir) {
  NamespaceIds ids;
  for (int i = 0; i < kNamespaceKindCount; ++i) {
    std::string path = absl::StrCat(dir, "/", kNamespaceKinds[i].proc_name);
    struct stat st;
    if (stat(path.c_str(), &st) < 0) {
      if (errno == ENOENT) {
        continue;
      }
      return absl::ErrnoToStatus(errno, absl::StrCat("stat ", path));
    }
    ids[i] = NamespaceId{true, st.st_dev, st.st_ino};
  }
  return ids;
}

}  // namespace

absl::StatusOr<NamespaceIds> ReadOwnNamespaceIds() {
  return StatNamespaceFiles("/proc/self/ns");
}

absl::StatusOr<NamespaceIds> ReadNamespaceIds(const Pidfd& pidfd, pid_t pid) {
  absl::StatusOr<NamespaceIds> ids =
      StatNamespaceFiles(absl::StrCat("/proc/", pid, "/ns"));
  ATTACHD_RETURN_IF_ERROR(CheckAlive(pidfd));
  return ids;
}

int NamespacesToJoin(const NamespaceIds& target, const NamespaceIds& own) {
  int flags = 0;
  for (int i = 0; i < kNamespaceKindCount; ++i) {
    if (target[i].present && own[i].present && target[i] != own[i]) {
      flags |= kNamespaceKinds[i].clone_flag;
    }
  }
  return flags;
}

std::string NamespaceFlagsToString(int flags) {
  std::vector<const char*> names;
  for (const NamespaceKind& kind : kNamespaceKinds) {
    if (flags & kind.clone_flag) {
      names.push_back(kind.proc_name);
    }
  }
  return names.empty() ? "none" : absl::StrJoin(names, "|");
}

absl::StatusOr<std::vector<NamespaceFdToJoin>> OpenNamespaceFds(
    const Pidfd& pidfd, pid_t pid, int flags) {
  std::vector<NamespaceFdToJoin> fds;
  for (const NamespaceKind& kind : kNamespaceKinds) {
    if (!(flags & kind.clone_flag)) {
      continue;
    }
    std::string path = absl::StrCat("/proc/", pid, "/ns/", kind.proc_name);
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      ATTACHD_RETURN_IF_ERROR(CheckAlive(pidfd));
      return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
    }
    fds.push_back({kind.clone_flag, NamespaceFd(std::move(fd))});
  }

  // The files were opened by pid; only a live pidfd proves that pid still
  // named the container's process while they were opened.
  ATTACHD_RETURN_IF_ERROR(CheckAlive(pidfd));
  return fds;
}

bool KernelSupportsPidfdSetns() {
  UniqueFd self(PidfdOpen(getpid(), 0));
  if (!self.valid()) {
    return false;
  }
  // EINVAL means the kernel does not take a pidfd here; EPERM (no
  // CAP_SYS_ADMIN) says nothing about the kernel.
  return setns(self.get(), CLONE_NEWUTS) == 0 || errno != EINVAL;
}

}  // namespace attachd::daemon
