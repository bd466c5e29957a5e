// Real containers for attachd's integration tests.
//
// TestContainer runs //tests:ctr_init, which makes a container whose init
// (by default /bin/sleep 1000000 in a busybox root filesystem) is pid 1 of new
// user, mount, pid, net, ipc, uts, cgroup and time namespaces, all owned by
// the new user namespace.  Tests then act on the init through its host pid
// or pidfd.
//
// Requirements: the test runs as root in the host's user namespace, that is
// unsandboxed, and has the launcher in its runfiles:
//
//   cc_test(
//       name = "foo_test",
//       srcs = ["foo_test.cc"],
//       data = ["//tests:ctr_init"],
//       tags = ["no-sandbox"],
//       deps = ["//tests:test_container", "//third_party:gtest_main"],
//   )
//
// Threads: the functions may be called from any thread, including in
// processes that run other threads (gRPC): child processes are started with
// posix_spawn.  One TestContainer must not be used from two threads at once.
//
// Children: a TestContainer reaps its launcher itself.  A caller that reaps
// other children with waitpid(-1, ...) or ignores SIGCHLD takes that away.

#ifndef ATTACHD_TESTS_TEST_CONTAINER_H_
#define ATTACHD_TESTS_TEST_CONTAINER_H_

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace attachd::testing {

// The namespace types a TestContainer unshares, named as in /proc/PID/ns/.
inline constexpr std::array<absl::string_view, 8> kNamespaceTypes = {
    "user", "mnt", "pid", "net", "ipc", "uts", "cgroup", "time"};

// Builds a minimal root filesystem in `dir`, which is created if missing:
// bin/busybox (a copy of the static /bin/busybox) with a bin/ symlink for
// every applet it lists; sbin, usr/bin and usr/sbin as symlinks to bin; empty
// etc, proc, dev, tmp, sys and root directories; etc/passwd (root 0, app 1000,
// nobody 65534) and etc/group (root 0, app 1000, nogroup 65534).  Everything
// is world-readable, so a container whose root is host uid 100000 can use
// it; `dir` and each directory above it must be searchable by that uid too.
// Returns `dir`, or the error of the first step that failed.
absl::StatusOr<std::string> MakeBusyboxRootfs(const std::string& dir);

// One busybox root filesystem shared by all tests of the process, built by
// the first call in a new directory under /tmp and removed when the process
// that built it exits.  Aborts the process, saying why, if it cannot be
// built: no container test could run without it.
const std::string& BusyboxRootfs();

// Runs `argv` (argv[0] is looked up in PATH) with stdin from /dev/null and
// stdout and stderr captured in memory files, so children that keep them
// open (runc's detached containers) do not make it wait.  Returns stdout if
// the command exits 0 within `timeout`; UNKNOWN with its stderr if it fails;
// DEADLINE_EXCEEDED (after killing it) if it runs too long.
absl::StatusOr<std::string> RunCommand(
    const std::vector<std::string>& argv,
    absl::Duration timeout = absl::Seconds(30));

// Removes `path` and everything under it, without following symlinks or
// crossing into other mounts.  A missing `path` is not an error.
absl::Status RemoveTree(const std::string& path);

// Finds the ctr_init binary.  In order: $TEST_SRCDIR/$TEST_WORKSPACE/tests/
// ctr_init (what `bazel test` sets up from a `data` dependency), the same
// under $RUNFILES_DIR, <this executable>.runfiles/attachd/tests/ctr_init,
// and ctr_init next to this executable (running a test in bazel-bin/tests/
// by hand).  NOT_FOUND lists the places tried.
absl::StatusOr<std::string> CtrInitPath();

// The inode of /proc/PID/ns/TYPE, TYPE one of kNamespaceTypes.  NOT_FOUND if
// the process is gone.
absl::StatusOr<ino_t> NamespaceInodeOf(pid_t pid, absl::string_view type);

struct TestContainerOptions {
  // False: the other seven namespaces are owned by the host user namespace.
  bool user_namespace = true;
  // Container uids and gids 0..65535 are host ids uid_base..uid_base+65535.
  uid_t uid_base = 100000;
  // Empty: the container keeps a copy of the host's name.
  std::string hostname;
  // Monotonic and boottime offset of the container's time namespace.
  std::optional<int64_t> time_offset_seconds;
  // Puts the container in a new cgroup of its own in the cgroup2 hierarchy
  // and in one v1 hierarchy (pids, else memory), where mounted.
  bool create_cgroups = false;
  // The init's argv; argv[0] is an absolute path in the container.  Empty:
  // /bin/sleep 1000000.  Its stdout and stderr go to Output().
  std::vector<std::string> command;
  // Empty: BusyboxRootfs().
  std::string rootfs;
  // Empty: CtrInitPath().
  std::string ctr_init_path;
};

// A cgroup made for one container, in one hierarchy.
struct ContainerCgroup {
  // "" for cgroup2, else the v1 controller, e.g. "pids".
  std::string controller;
  // The path that /proc/PID/cgroup shows from the host's cgroup namespace,
  // e.g. "/attachd-test/1234-1".
  std::string path;
  // Its directory on the host, e.g.
  // "/sys/fs/cgroup/unified/attachd-test/1234-1".
  std::string directory;
};

// One running container and its launcher.  Move-only.  Destroying it kills
// the container (SIGKILL to its init, which takes the whole pid namespace
// down), reaps the launcher and removes the cgroups it made.
class TestContainer {
 public:
  // Starts a container and returns once its init has exec'd the command.
  // NOT_FOUND: no ctr_init.  FAILED_PRECONDITION: ctr_init failed; the message
  // carries its error.  DEADLINE_EXCEEDED: no pid within 10 seconds.  Other
  // codes: a system call failed.
  static absl::StatusOr<TestContainer> Start(
      const TestContainerOptions& options = {});

  TestContainer(TestContainer&& other) noexcept;
  TestContainer& operator=(TestContainer&& other) noexcept;
  TestContainer(const TestContainer&) = delete;
  TestContainer& operator=(const TestContainer&) = delete;
  ~TestContainer();

  // The init's pid in the host pid namespace.  Once the init has exited,
  // the launcher reaps it and the pid may be reused: where that matters, act
  // through pidfd().
  pid_t pid() const { return pid_; }
  // A pidfd for the init, owned by this object (CLOEXEC); it was checked to
  // be the launcher's child, so it is not a reused pid.
  int pidfd() const { return pidfd_; }
  pid_t launcher_pid() const { return launcher_pid_; }

  // Sends `signal` to the init.  The kernel delivers to a pid namespace's
  // init, from outside, only SIGKILL, SIGSTOP and signals it handles.
  // NOT_FOUND once it has exited.
  absl::Status Kill(int signal);

  // Waits for the launcher, which exits right after reaping the init, and
  // returns its exit code: the init's, or 128+N for signal N.  Returns the
  // same value again on later calls.  DEADLINE_EXCEEDED if it is still
  // running after `timeout`.
  absl::StatusOr<int> WaitExited(absl::Duration timeout = absl::Seconds(10));

  // The inode of the init's namespace of `type` (see kNamespaceTypes).
  absl::StatusOr<ino_t> NamespaceInode(absl::string_view type) const;

  // What the launcher and the container wrote to stdout and stderr so far.
  std::string Output() const;

  // The cgroups made for the container (empty unless create_cgroups).
  const std::vector<ContainerCgroup>& cgroups() const { return cgroups_; }
  // The host directory of its cgroup2 cgroup, or "".
  std::string cgroup2_path() const;
  // The host directories of its cgroup v1 cgroups.
  std::vector<std::string> cgroup1_paths() const;

 private:
  TestContainer() = default;

  absl::Status MakeCgroups();
  absl::Status Launch(const TestContainerOptions& options,
                      const std::string& ctr_init);
  absl::Status ReceiveInitPid(int pid_reader);
  absl::Status AdoptInit(pid_t pid);
  void Destroy();

  pid_t pid_ = 0;
  int pidfd_ = -1;
  pid_t launcher_pid_ = 0;
  int launcher_pidfd_ = -1;
  std::optional<int> exit_code_;
  int output_fd_ = -1;
  std::vector<ContainerCgroup> cgroups_;
};

}  // namespace attachd::testing

#endif  // ATTACHD_TESTS_TEST_CONTAINER_H_
