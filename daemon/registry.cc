#include "daemon/registry.h"

#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "daemon/cgroups.h"
#include "daemon/lsm.h"
#include "daemon/process.h"
#include "daemon/status_macros.h"
#include "google/protobuf/util/time_util.h"

namespace attachd::daemon {
namespace {

using google::protobuf::util::TimeUtil;

// The id of the wake eventfd in the epoll set; containers count from 1.
constexpr uint64_t kWakeId = 0;

google::protobuf::Timestamp Now() {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(absl::Now()));
}

void FillNamespaces(const NamespaceIds& ids, const NamespaceIds& own,
                    v1::Container* record) {
  for (int i = 0; i < kNamespaceKindCount; ++i) {
    if (!ids[i].present) {
      continue;
    }
    v1::Namespace* ns = record->add_namespaces();
    ns->set_type(static_cast<v1::NamespaceType>(i + 1));
    ns->set_device(ids[i].device);
    ns->set_inode(ids[i].inode);
    ns->set_joined(own[i].present && own[i] != ids[i]);
  }
}

absl::Status FillCgroups(const Pidfd& pidfd, pid_t pid, v1::Container* record) {
  ATTACHD_ASSIGN_OR_RETURN(std::string text,
                           ReadProcFile(pidfd, pid, "cgroup"));
  ATTACHD_ASSIGN_OR_RETURN(std::vector<CgroupMembership> memberships,
                           ParseProcCgroup(text));
  for (const CgroupMembership& member : memberships) {
    v1::Cgroup* cgroup = record->add_cgroups();
    cgroup->set_hierarchy_id(member.hierarchy_id);
    cgroup->set_controllers(member.controllers);
    cgroup->set_path(member.path);
  }
  return absl::OkStatus();
}

absl::Status FillSecurity(const Pidfd& pidfd, pid_t pid,
                          v1::Container* record) {
  Lsm lsm = ActiveLsm();
  record->set_lsm(lsm == Lsm::kAppArmor  ? "apparmor"
                  : lsm == Lsm::kSELinux ? "selinux"
                                         : "none");
  ATTACHD_ASSIGN_OR_RETURN(ExecLabel label, ReadExecLabel(lsm, pidfd, pid));
  record->set_lsm_label(label.value);
  record->add_not_applied("seccomp");
  if (lsm == Lsm::kNone) {
    record->add_not_applied("lsm");
  }
  return absl::OkStatus();
}

void SortByName(std::vector<v1::Container>& records) {
  std::sort(records.begin(), records.end(),
            [](const v1::Container& a, const v1::Container& b) {
              return a.name() < b.name();
            });
}

// A pidfd polls readable once its process has exited (zombie or reaped).
bool HasExited(const Pidfd& pidfd) {
  struct pollfd poll_fd = {pidfd.get(), POLLIN, 0};
  return poll(&poll_fd, 1, 0) > 0;
}

// Maps "the process went away while we read about it" to the caller's
// terms.
absl::Status ExitedWhileRegistering(const absl::Status& status, pid_t pid) {
  if (absl::IsNotFound(status)) {
    return absl::FailedPreconditionError(
        absl::StrCat("process ", pid, " exited during registration"));
  }
  return status;
}

}  // namespace

absl::StatusOr<v1::Event> Subscription::Next(absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
    return !events_.empty() || overflowed_ || closed_;
  };
  mutex_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (overflowed_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "watcher fell more than ", kMaxQueuedEvents, " events behind"));
  }
  if (!events_.empty()) {
    v1::Event event = std::move(events_.front());
    events_.pop_front();
    return event;
  }
  if (closed_) {
    return absl::CancelledError("attachd is shutting down");
  }
  return absl::DeadlineExceededError("no event");
}

void Subscription::Push(const v1::Event& event) {
  absl::MutexLock lock(&mutex_);
  if (events_.size() >= kMaxQueuedEvents) {
    overflowed_ = true;
    events_.clear();
    return;
  }
  if (!overflowed_) {
    events_.push_back(event);
  }
}

void Subscription::Close() {
  absl::MutexLock lock(&mutex_);
  closed_ = true;
}

absl::StatusOr<std::unique_ptr<Registry>> Registry::Create(
    const NamespaceIds& own_namespaces, size_t max_containers) {
  UniqueFd epoll(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll.valid()) {
    return absl::ErrnoToStatus(errno, "epoll_create1");
  }
  UniqueFd wake(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) {
    return absl::ErrnoToStatus(errno, "eventfd");
  }
  struct epoll_event event = {};
  event.events = EPOLLIN;
  event.data.u64 = kWakeId;
  if (epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wake.get(), &event) < 0) {
    return absl::ErrnoToStatus(errno, "epoll_ctl(ADD eventfd)");
  }

  std::unique_ptr<Registry> registry(new Registry(
      own_namespaces, max_containers, std::move(epoll), std::move(wake)));
  registry->watcher_ =
      std::thread([raw = registry.get()] { raw->WatchExits(); });
  return registry;
}

Registry::Registry(const NamespaceIds& own_namespaces, size_t max_containers,
                   UniqueFd epoll, UniqueFd wake)
    : own_namespaces_(own_namespaces),
      max_containers_(max_containers),
      epoll_(std::move(epoll)),
      wake_(std::move(wake)) {}

Registry::~Registry() {
  uint64_t one = 1;
  ssize_t ignored = write(wake_.get(), &one, sizeof(one));
  (void)ignored;
  watcher_.join();
  CloseSubscriptions();
}

void Registry::CloseSubscriptions() {
  absl::MutexLock lock(&mutex_);
  for (const std::shared_ptr<Subscription>& subscription : subscriptions_) {
    subscription->Close();
  }
}

absl::Status Registry::ValidateName(const std::string& name) {
  bool valid = !name.empty() && name.size() <= 63 && name.front() != '-' &&
               name.back() != '-';
  for (char c : name) {
    valid =
        valid && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  }
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid container name \"", absl::CHexEscape(name),
        "\": use 1 to 63 characters of a-z, 0-9 and '-', not starting or "
        "ending with '-'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Container> Registry::Register(
    const std::string& name, pid_t pid, std::optional<uint64_t> start_time) {
  ATTACHD_RETURN_IF_ERROR(ValidateName(name));
  ATTACHD_ASSIGN_OR_RETURN(Pidfd pidfd, OpenPidfd(pid));

  // Everything below reads /proc/PID and then checks the pidfd, so it
  // describes the process the pidfd refers to.
  absl::StatusOr<uint64_t> actual_start = ReadStartTime(pidfd, pid);
  if (!actual_start.ok()) {
    return ExitedWhileRegistering(actual_start.status(), pid);
  }
  if (start_time.has_value() && *start_time != *actual_start) {
    return absl::FailedPreconditionError(absl::StrCat(
        "pid ", pid, " has start time ", *actual_start, ", not ", *start_time,
        ": it is not the process meant (pid reused?)"));
  }
  absl::StatusOr<NamespaceIds> namespaces = ReadNamespaceIds(pidfd, pid);
  if (!namespaces.ok()) {
    return ExitedWhileRegistering(namespaces.status(), pid);
  }

  v1::Container record;
  record.set_name(name);
  record.set_pid(pid);
  record.set_start_time(*actual_start);
  record.set_state(v1::Container::STATE_RUNNING);
  FillNamespaces(*namespaces, own_namespaces_, &record);
  if (absl::Status status = FillCgroups(pidfd, pid, &record); !status.ok()) {
    return ExitedWhileRegistering(status, pid);
  }
  if (HasExited(pidfd)) {
    return absl::FailedPreconditionError(
        absl::StrCat("process ", pid, " has exited"));
  }
  *record.mutable_registered_at() = Now();
  if (absl::Status status = FillSecurity(pidfd, pid, &record); !status.ok()) {
    return ExitedWhileRegistering(status, pid);
  }

  auto ref = std::make_shared<ContainerRef>();
  ref->name = name;
  ref->pidfd = std::move(pidfd);
  ref->pid = pid;
  ref->namespaces_to_join = NamespacesToJoin(*namespaces, own_namespaces_);

  absl::MutexLock lock(&mutex_);
  if (containers_.contains(name)) {
    return absl::AlreadyExistsError(
        absl::StrCat("a container named ", name, " is already registered"));
  }
  if (containers_.size() >= max_containers_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the limit of ", max_containers_, " registered containers is reached"));
  }

  uint64_t id = next_id_++;
  struct epoll_event event = {};
  event.events = EPOLLIN;
  event.data.u64 = id;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, ref->pidfd.get(), &event) < 0) {
    return absl::ErrnoToStatus(errno, "epoll_ctl(ADD pidfd)");
  }
  containers_[name] = Entry{std::move(ref), record, id};
  names_by_id_[id] = name;
  Publish(v1::Event::TYPE_REGISTERED, record);
  return record;
}

absl::StatusOr<v1::Container> Registry::Get(const std::string& name) const {
  absl::MutexLock lock(&mutex_);
  auto it = containers_.find(name);
  if (it == containers_.end()) {
    return absl::NotFoundError(absl::StrCat("no container named ", name));
  }
  return it->second.record;
}

std::vector<v1::Container> Registry::List() const {
  std::vector<v1::Container> records;
  {
    absl::MutexLock lock(&mutex_);
    records.reserve(containers_.size());
    for (const auto& [name, entry] : containers_) {
      records.push_back(entry.record);
    }
  }
  SortByName(records);
  return records;
}

absl::Status Registry::Unregister(const std::string& name) {
  absl::MutexLock lock(&mutex_);
  auto it = containers_.find(name);
  if (it == containers_.end()) {
    return absl::NotFoundError(absl::StrCat("no container named ", name));
  }

  // The pidfd may outlive this entry in an operation's ContainerRef; it
  // must leave the epoll set now, or its exit would wake a stale id.
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.ref->pidfd.get(), nullptr);
  names_by_id_.erase(it->second.id);
  Publish(v1::Event::TYPE_UNREGISTERED, it->second.record);
  containers_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const ContainerRef>> Registry::Acquire(
    const std::string& name) const {
  absl::MutexLock lock(&mutex_);
  auto it = containers_.find(name);
  if (it == containers_.end()) {
    return absl::NotFoundError(absl::StrCat("no container named ", name));
  }
  if (it->second.record.state() == v1::Container::STATE_EXITED) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", name, " exited"));
  }
  return it->second.ref;
}

std::shared_ptr<Subscription> Registry::Subscribe(bool include_existing) {
  auto subscription = std::make_shared<Subscription>();
  absl::MutexLock lock(&mutex_);
  if (include_existing) {
    std::vector<v1::Container> records;
    for (const auto& [name, entry] : containers_) {
      records.push_back(entry.record);
    }
    SortByName(records);
    for (const v1::Container& record : records) {
      // Each replayed event carries the container as it was then: running
      // when it was registered, exited when it exited.
      v1::Event registered;
      registered.set_type(v1::Event::TYPE_REGISTERED);
      *registered.mutable_container() = record;
      registered.mutable_container()->set_state(v1::Container::STATE_RUNNING);
      registered.mutable_container()->clear_exited_at();
      *registered.mutable_time() = record.registered_at();
      subscription->Push(registered);
      if (record.state() == v1::Container::STATE_EXITED) {
        v1::Event exited;
        exited.set_type(v1::Event::TYPE_EXITED);
        *exited.mutable_container() = record;
        *exited.mutable_time() = record.exited_at();
        subscription->Push(exited);
      }
    }
  }
  subscriptions_.push_back(subscription);
  return subscription;
}

void Registry::Unsubscribe(const std::shared_ptr<Subscription>& subscription) {
  absl::MutexLock lock(&mutex_);
  subscriptions_.erase(
      std::remove(subscriptions_.begin(), subscriptions_.end(), subscription),
      subscriptions_.end());
}

size_t Registry::size() const {
  absl::MutexLock lock(&mutex_);
  return containers_.size();
}

void Registry::PublishExecExited(const std::string& container,
                                 const v1::ExecExited& exited) {
  absl::MutexLock lock(&mutex_);
  auto it = containers_.find(container);
  v1::Container record;
  if (it != containers_.end()) {
    record = it->second.record;
  } else {
    record.set_name(container);
  }
  Publish(v1::Event::TYPE_EXEC_EXITED, record, &exited);
}

void Registry::Publish(v1::Event::Type type, const v1::Container& container,
                       const v1::ExecExited* exited) {
  v1::Event event;
  event.set_type(type);
  *event.mutable_container() = container;
  *event.mutable_time() = Now();
  if (exited != nullptr) {
    *event.mutable_exec_exited() = *exited;
  }
  for (const std::shared_ptr<Subscription>& subscription : subscriptions_) {
    subscription->Push(event);
  }
}

void Registry::WatchExits() {
  constexpr int kBatch = 256;
  struct epoll_event events[kBatch];
  for (;;) {
    int count = epoll_wait(epoll_.get(), events, kBatch, -1);
    if (count < 0 && errno == EINTR) {
      continue;
    }
    // epoll_wait on our own valid epoll fd fails only on a daemon bug.
    if (count < 0) {
      return;
    }
    for (int i = 0; i < count; ++i) {
      if (events[i].data.u64 == kWakeId) {
        return;
      }
      MarkExited(events[i].data.u64);
    }
  }
}

void Registry::MarkExited(uint64_t id) {
  absl::MutexLock lock(&mutex_);
  auto name = names_by_id_.find(id);
  if (name == names_by_id_.end()) {
    return;
  }
  Entry& entry = containers_.at(name->second);

  // A pidfd stays readable after exit; it leaves the set so that it wakes
  // the watcher once.
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, entry.ref->pidfd.get(), nullptr);
  names_by_id_.erase(name);
  entry.record.set_state(v1::Container::STATE_EXITED);
  *entry.record.mutable_exited_at() = Now();
  Publish(v1::Event::TYPE_EXITED, entry.record);
}

}  // namespace attachd::daemon
