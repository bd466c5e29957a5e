// Namespace identities and the set of namespaces an attach joins.
//
// A namespace is identified by the device and inode of its nsfs file
// (stat(2) of /proc/PID/ns/<type>).  attachd records a container's
// identities at registration and joins, on each attach, every namespace
// whose identity differs from attachd's own: re-entering one's own user
// namespace is an error (EINVAL), and re-entering any other is wasted work.
//
// Thread-safe; allocates; not async-signal-safe.

#ifndef ATTACHD_DAEMON_NAMESPACES_H_
#define ATTACHD_DAEMON_NAMESPACES_H_

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "daemon/unique_fd.h"

namespace attachd::daemon {

// One namespace type, in the order an nsfd-by-nsfd attach joins them: the
// user namespace first, so that the caller holds capabilities over the
// namespaces the container's user namespace owns.
struct NamespaceKind {
  // CLONE_NEWUSER and so on.
  int clone_flag;
  // The file name under /proc/PID/ns.
  const char* proc_name;
};

inline constexpr int kNamespaceKindCount = 8;
extern const std::array<NamespaceKind, kNamespaceKindCount> kNamespaceKinds;

struct NamespaceId {
  // False when the kernel lacks this namespace type (no /proc/PID/ns file).
  bool present = false;
  uint64_t device = 0;
  uint64_t inode = 0;

  bool operator==(const NamespaceId& other) const {
    return present == other.present && device == other.device &&
           inode == other.inode;
  }
  bool operator!=(const NamespaceId& other) const { return !(*this == other); }
};

// Identities indexed like kNamespaceKinds.
using NamespaceIds = std::array<NamespaceId, kNamespaceKindCount>;

// attachd's own namespaces (/proc/self/ns).
absl::StatusOr<NamespaceIds> ReadOwnNamespaceIds();

// The namespaces of the pidfd's process, read through /proc/PID/ns and
// checked against the pidfd afterwards (see process.h).  NOT_FOUND if the
// process exited.
absl::StatusOr<NamespaceIds> ReadNamespaceIds(const Pidfd& pidfd, pid_t pid);

// The CLONE_NEW* flags of the namespaces in `target` that differ from
// `own`.  Types absent from either side are left out.
int NamespacesToJoin(const NamespaceIds& target, const NamespaceIds& own);

// "user|mnt|pid" for a CLONE_NEW* mask, for messages; "none" for 0.
std::string NamespaceFlagsToString(int flags);

// One open namespace file, for kernels whose setns(2) takes no pidfd.
struct NamespaceFdToJoin {
  int clone_flag;
  NamespaceFd fd;
};

// Opens /proc/PID/ns/<type> for each type in `flags`, in kNamespaceKinds
// order, then checks the pidfd (see process.h): the files belong to the
// pidfd's process or the call fails with NOT_FOUND.
absl::StatusOr<std::vector<NamespaceFdToJoin>> OpenNamespaceFds(
    const Pidfd& pidfd, pid_t pid, int flags);

// Whether setns(2) accepts a pidfd with several CLONE_NEW* flags (Linux
// 5.8 and later).  Probes the kernel by joining the caller's own UTS
// namespace through a pidfd of itself, which changes nothing.
bool KernelSupportsPidfdSetns();

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_NAMESPACES_H_
