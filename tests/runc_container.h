// OCI containers run by runc, for attachd's integration tests.
//
// RuncContainer makes a bundle in a new directory under /tmp (a fresh busybox
// root filesystem and the config of `runc spec`, changed to run
// /bin/sleep 1000000 without a terminal, with the container's id as host
// name), and starts it with `runc --root <state dir> run --detach`.  Its init
// is pid 1 of new mount, pid, net, ipc and uts namespaces; as in runc's
// default config, it shares the host's user, cgroup and time namespaces.
// runc puts it in a cgroup named after the id, below runc's own cgroup in
// each hierarchy.
//
// Each container has its own runc state directory, so containers of
// concurrent tests do not see each other; ids need only be unique among
// containers alive at once on the host (runc's cgroups are named after them).
//
// Requirements: root in the host's user namespace (Bazel: tags =
// ["no-sandbox"]) and runc in PATH; runc 1.1.5 works with this machine's
// hybrid cgroups, crun 1.8 does not.
//
// Threads: may be used from any thread of a multi-threaded process (runc is
// started with posix_spawn); one RuncContainer must not be used from two
// threads at once.

#ifndef ATTACHD_TESTS_RUNC_CONTAINER_H_
#define ATTACHD_TESTS_RUNC_CONTAINER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace attachd::testing {

// One running runc container.  Move-only.  Destroying it runs
// `runc kill ID KILL` and `runc delete --force ID`, then removes the bundle
// and the state directory; failures there are printed to stderr.
class RuncContainer {
 public:
  // Starts container `id` ([A-Za-z0-9_.-]+) and returns once runc reports it
  // running.  INVALID_ARGUMENT: a bad id.  UNKNOWN: runc failed; the message
  // carries its stderr.  FAILED_PRECONDITION: runc's output was not what this
  // code expects of runc 1.1.
  static absl::StatusOr<RuncContainer> Start(const std::string& id);

  RuncContainer(RuncContainer&& other) noexcept;
  RuncContainer& operator=(RuncContainer&& other) noexcept;
  RuncContainer(const RuncContainer&) = delete;
  RuncContainer& operator=(const RuncContainer&) = delete;
  ~RuncContainer();

  const std::string& id() const { return id_; }
  // The init's pid in the host pid namespace, from `runc state`.  runc does
  // not reap it (it is not runc's child once runc has exited), so a test
  // that must not act on a reused pid should open a pidfd and check
  // `runc state` again.
  pid_t pid() const { return pid_; }
  const std::string& bundle_dir() const { return bundle_dir_; }
  // The directory to pass as `runc --root`.
  const std::string& state_dir() const { return state_dir_; }

  // Runs `runc --root <state dir> ARGS...` and returns its stdout.
  absl::StatusOr<std::string> Runc(const std::vector<std::string>& args) const;

 private:
  RuncContainer() = default;

  absl::Status MakeBundle();
  absl::Status Run();
  void Destroy();

  std::string id_;
  pid_t pid_ = 0;
  std::string bundle_dir_;
  std::string state_dir_;
  // Set once `runc run` has been tried: from then on, runc may hold state
  // for the container that the destructor must delete.
  bool run_attempted_ = false;
};

}  // namespace attachd::testing

#endif  // ATTACHD_TESTS_RUNC_CONTAINER_H_
