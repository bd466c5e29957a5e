// The registry of containers: one pidfd per container, opened once at
// registration, and the exit watcher that notices when a container's
// process exits by polling those pidfds with epoll.
//
// Threads: every public member may be called from any thread.  The exit
// watcher runs on a thread of its own, started by Create() and stopped by
// the destructor.
//
// Descriptors: the registry owns each container's pidfd until the
// container is unregistered and no ContainerRef refers to it any more.

#ifndef ATTACHD_DAEMON_REGISTRY_H_
#define ATTACHD_DAEMON_REGISTRY_H_

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "attachd/v1/attachd.pb.h"
#include "daemon/namespaces.h"
#include "daemon/unique_fd.h"

namespace attachd::daemon {

// What an operation needs to reach a registered container.  Immutable;
// shared by the registry and the operations in flight.
struct ContainerRef {
  std::string name;
  // The container's process, opened at registration.
  Pidfd pidfd;
  // Its pid at registration, used only to name /proc/PID files, whose
  // reads are always checked against `pidfd` (see process.h).
  pid_t pid;
  // CLONE_NEW* flags of the namespaces that differ from attachd's own.
  int namespaces_to_join;
};

// A Watch subscriber's queue of events.
class Subscription {
 public:
  // Waits up to `timeout` for the next event.  Returns OK with the event,
  // DEADLINE_EXCEEDED when none came, RESOURCE_EXHAUSTED if this
  // subscriber fell more than kMaxQueuedEvents behind (it then gets no
  // more events), CANCELLED once the registry is shutting down.
  absl::StatusOr<v1::Event> Next(absl::Duration timeout);

  static constexpr size_t kMaxQueuedEvents = 65536;

 private:
  friend class Registry;
  void Push(const v1::Event& event);
  void Close();

  absl::Mutex mutex_;
  std::deque<v1::Event> events_ ABSL_GUARDED_BY(mutex_);
  bool overflowed_ ABSL_GUARDED_BY(mutex_) = false;
  bool closed_ ABSL_GUARDED_BY(mutex_) = false;
};

class Registry {
 public:
  // `own_namespaces` are attachd's; `max_containers` bounds registrations.
  static absl::StatusOr<std::unique_ptr<Registry>> Create(
      const NamespaceIds& own_namespaces, size_t max_containers);
  ~Registry();

  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Opens a pidfd for `pid`, then reads, checking the pidfd after each
  // read, its start time, namespaces and cgroups.  INVALID_ARGUMENT (bad
  // name or pid), NOT_FOUND (no such process), FAILED_PRECONDITION
  // (start_time mismatch, or the process already exited), ALREADY_EXISTS,
  // RESOURCE_EXHAUSTED (max_containers reached).
  absl::StatusOr<v1::Container> Register(const std::string& name, pid_t pid,
                                         std::optional<uint64_t> start_time);

  // NOT_FOUND for an unknown name.
  absl::StatusOr<v1::Container> Get(const std::string& name) const;

  // Sorted by name.
  std::vector<v1::Container> List() const;

  // NOT_FOUND for an unknown name.  Operations in flight keep their
  // ContainerRef; the pidfd closes when the last one ends.
  absl::Status Unregister(const std::string& name);

  // A running container, for an operation.  NOT_FOUND for an unknown name,
  // FAILED_PRECONDITION ("container NAME exited") once its exit has been
  // noticed.  A container that exits after this returns is caught by the
  // operation itself: setns(pidfd) fails with ESRCH.
  absl::StatusOr<std::shared_ptr<const ContainerRef>> Acquire(
      const std::string& name) const;

  // Events from now on; with `include_existing`, first a REGISTERED event
  // (and an EXITED event where it applies) for each current container.
  std::shared_ptr<Subscription> Subscribe(bool include_existing);
  void Unsubscribe(const std::shared_ptr<Subscription>& subscription);

  size_t size() const;

  // Publishes an EXEC_EXITED event for a detached command of `container`
  // (which may have been unregistered meanwhile: the event then carries
  // only its name).
  void PublishExecExited(const std::string& container,
                         const v1::ExecExited& exited);

  // Ends every subscription (their Next() returns CANCELLED), so that
  // Watch calls finish when attachd stops.
  void CloseSubscriptions();

  // Names must be DNS labels: 1 to 63 of [a-z0-9-], not starting or
  // ending with '-'.
  static absl::Status ValidateName(const std::string& name);

 private:
  struct Entry {
    std::shared_ptr<const ContainerRef> ref;
    v1::Container record;
    uint64_t id;
  };

  Registry(const NamespaceIds& own_namespaces, size_t max_containers,
           UniqueFd epoll, UniqueFd wake);
  void WatchExits();
  void MarkExited(uint64_t id);
  void Publish(v1::Event::Type type, const v1::Container& container,
               const v1::ExecExited* exited = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const NamespaceIds own_namespaces_;
  const size_t max_containers_;
  const UniqueFd epoll_;
  // An eventfd in the epoll set that wakes the watcher to stop.
  const UniqueFd wake_;

  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Entry> containers_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<uint64_t, std::string> names_by_id_
      ABSL_GUARDED_BY(mutex_);
  uint64_t next_id_ ABSL_GUARDED_BY(mutex_) = 1;
  std::vector<std::shared_ptr<Subscription>> subscriptions_
      ABSL_GUARDED_BY(mutex_);

  std::thread watcher_;
};

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_REGISTRY_H_
