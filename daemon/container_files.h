// Reading small files of a container, as the container sees them.
//
// A path such as /etc/passwd must be resolved inside the container: from
// its root, through its mounts, with its symlinks ("/../../etc/passwd"
// stays inside, since ".." at a root is that root).  The daemon cannot do
// that from the host safely, so a worker (worker.h) that has joined the
// container's namespaces opens each file and copies it into a pipe, and
// the daemon reads the pipes.
//
// What the worker refuses to open, to keep a container from feeding it
// something other than a file of its own: magic links (/proc/self/fd/N,
// /proc/PID/root: openat2 RESOLVE_NO_MAGICLINKS), anything but a regular
// file (a FIFO would block, a device could be endless), and files of
// procfs and sysfs (/proc/self/environ would be the worker's own, that
// is attachd's, environment).
//
// Thread-safe; allocates; call from any daemon thread.

#ifndef ATTACHD_DAEMON_CONTAINER_FILES_H_
#define ATTACHD_DAEMON_CONTAINER_FILES_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/worker.h"

namespace attachd::daemon {

struct ContainerFileLimits {
  // A larger file is refused.
  size_t max_bytes = 1 << 20;
  // For the whole read, all files together.  A file on a mount that never
  // answers (FUSE, a hung NFS server) must not pin the daemon's thread.
  absl::Duration timeout = absl::Seconds(10);
};

// Reads each of `paths` (absolute, resolved in the container) with one
// worker spawned through `plan`.  The outer status is the worker's: its
// spawn failed (see SpawnWorker), or DEADLINE_EXCEEDED when the reads
// took longer than `limits.timeout` (the worker is then killed).  Each
// inner status is one file's: its contents, NOT_FOUND if it does not
// exist, FAILED_PRECONDITION if it is refused (not a regular file, on
// procfs or sysfs, a magic link, larger than `limits.max_bytes`), or the
// errno of its open or read.  Messages name the path only; callers add
// the container.  Every process started has been reaped on return.
absl::StatusOr<std::vector<absl::StatusOr<std::string>>> ReadContainerFiles(
    const AttachPlan& plan, const std::vector<std::string>& paths,
    const ContainerFileLimits& limits = {});

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_CONTAINER_FILES_H_
