// ContainerService through the real daemon: what a client sees for each
// rule of the service's contract, against real processes and containers.

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"
#include "tests/daemon_harness.h"
#include "tests/test_container.h"

namespace attachd::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr auto kCallTimeout = std::chrono::seconds(10);

// The fields of /proc/PID/stat from field 3 (state) on: field N is
// element N - 3.  Empty once the process is reaped.
std::vector<std::string> StatFields(pid_t pid) {
  std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 > stat.size()) {
    return {};
  }
  return absl::StrSplit(stat.substr(close + 2), ' ');
}

absl::Time ToTime(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + kCallTimeout);
}

grpc::Status Register(v1::ContainerService::Stub& stub, const std::string& name,
                      pid_t pid, std::optional<uint64_t> start_time,
                      v1::Container* container) {
  v1::RegisterRequest request;
  request.set_name(name);
  request.set_pid(pid);
  if (start_time.has_value()) {
    request.set_start_time(*start_time);
  }
  grpc::ClientContext context;
  SetDeadline(&context);
  return stub.Register(&context, request, container);
}

grpc::Status Get(v1::ContainerService::Stub& stub, const std::string& name,
                 v1::Container* container) {
  v1::GetRequest request;
  request.set_name(name);
  grpc::ClientContext context;
  SetDeadline(&context);
  return stub.Get(&context, request, container);
}

grpc::Status List(v1::ContainerService::Stub& stub,
                  v1::ListResponse* response) {
  grpc::ClientContext context;
  SetDeadline(&context);
  return stub.List(&context, v1::ListRequest(), response);
}

grpc::Status Unregister(v1::ContainerService::Stub& stub,
                        const std::string& name) {
  v1::UnregisterRequest request;
  request.set_name(name);
  v1::UnregisterResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  return stub.Unregister(&context, request, &response);
}

std::vector<std::string> ListedNames(v1::ContainerService::Stub& stub) {
  v1::ListResponse response;
  grpc::Status status = List(stub, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::vector<std::string> names;
  for (const v1::Container& container : response.containers()) {
    names.push_back(container.name());
  }
  return names;
}

// Children of the test that wait in pause() until killed: the cheapest
// processes to register.  Destroying this kills and reaps them all.
class PausedChildren {
 public:
  PausedChildren() = default;
  PausedChildren(const PausedChildren&) = delete;
  PausedChildren& operator=(const PausedChildren&) = delete;
  ~PausedChildren() {
    for (pid_t pid : pids_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }

  // Only pause() runs in the child: the test process has gRPC threads.
  pid_t Start() {
    pid_t pid = fork();
    if (pid == 0) {
      for (;;) {
        pause();
      }
    }
    if (pid > 0) {
      pids_.push_back(pid);
    }
    return pid;
  }

 private:
  std::vector<pid_t> pids_;
};

// Polls `name` until the daemon reports it exited, for up to `timeout`.
std::optional<v1::Container> WaitForExited(v1::ContainerService::Stub& stub,
                                           const std::string& name,
                                           absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  do {
    v1::Container container;
    if (Get(stub, name, &container).ok() &&
        container.state() == v1::Container::STATE_EXITED) {
      return container;
    }
    absl::SleepFor(absl::Milliseconds(10));
  } while (absl::Now() < deadline);
  return std::nullopt;
}

// A Watch call whose events are read on a thread of their own, so that the
// test can wait for each with a timeout.  The call has a deadline too, so a
// daemon bug cannot hang the test.
class EventStream {
 public:
  EventStream(v1::ContainerService::Stub& stub, bool include_existing) {
    context_.set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(120));
    v1::WatchRequest request;
    request.set_include_existing(include_existing);
    reader_ = stub.Watch(&context_, request);
    reader_thread_ = std::thread([this] { ReadAll(); });
  }
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;
  ~EventStream() {
    if (reader_thread_.joinable()) {
      Cancel();
    }
  }

  // The next event, or nullopt if none came within `timeout` or the call
  // ended.
  std::optional<v1::Event> Next(absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mutex_);
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
      return !events_.empty() || ended_;
    };
    mutex_.AwaitWithTimeout(absl::Condition(&ready), timeout);
    if (events_.empty()) {
      return std::nullopt;
    }
    v1::Event event = std::move(events_.front());
    events_.pop_front();
    return event;
  }

  // Cancels the call and returns how it ended.
  grpc::Status Cancel() {
    context_.TryCancel();
    reader_thread_.join();
    return reader_->Finish();
  }

 private:
  void ReadAll() {
    v1::Event event;
    while (reader_->Read(&event)) {
      absl::MutexLock lock(&mutex_);
      events_.push_back(event);
    }
    absl::MutexLock lock(&mutex_);
    ended_ = true;
  }

  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::Event>> reader_;
  std::thread reader_thread_;
  absl::Mutex mutex_;
  std::deque<v1::Event> events_ ABSL_GUARDED_BY(mutex_);
  bool ended_ ABSL_GUARDED_BY(mutex_) = false;
};

// Returns once `events` is known to be subscribed: Watch gives no sign of
// that by itself, so probe containers are registered and unregistered until
// their events show up, and those events are consumed.
bool WaitUntilSubscribed(EventStream& events, v1::ContainerService::Stub& stub,
                         pid_t probe_pid) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::string probe = absl::StrCat("probe-", attempt);
    v1::Container container;
    if (!Register(stub, probe, probe_pid, std::nullopt, &container).ok() ||
        !Unregister(stub, probe).ok()) {
      return false;
    }
    std::optional<v1::Event> event = events.Next(absl::Milliseconds(200));
    if (!event.has_value()) {
      continue;
    }
    // Subscribed before this event, so this attempt's events all follow.
    while (event.has_value() &&
           !(event->type() == v1::Event::TYPE_UNREGISTERED &&
             event->container().name() == probe)) {
      event = events.Next();
    }
    return event.has_value();
  }
  return false;
}

// How a namespace type is named in /proc/PID/ns and in the API.
struct NamespaceName {
  const char* proc_name;
  v1::NamespaceType type;
};

constexpr NamespaceName kNamespaceNames[] = {
    {"user", v1::NAMESPACE_TYPE_USER},     {"mnt", v1::NAMESPACE_TYPE_MNT},
    {"pid", v1::NAMESPACE_TYPE_PID},       {"net", v1::NAMESPACE_TYPE_NET},
    {"ipc", v1::NAMESPACE_TYPE_IPC},       {"uts", v1::NAMESPACE_TYPE_UTS},
    {"cgroup", v1::NAMESPACE_TYPE_CGROUP}, {"time", v1::NAMESPACE_TYPE_TIME},
};

// The record attachd must return when `pid` is registered as `name` by the
// daemon `daemon_pid`, as the host shows that process; all but
// registered_at.
v1::Container ExpectedRecord(const std::string& name, pid_t pid,
                             pid_t daemon_pid) {
  v1::Container expected;
  expected.set_name(name);
  expected.set_pid(pid);
  expected.set_start_time(StartTimeOf(pid).value_or(0));
  expected.set_state(v1::Container::STATE_RUNNING);
  for (const NamespaceName& kind : kNamespaceNames) {
    struct stat target;
    struct stat own;
    if (stat(absl::StrCat("/proc/", pid, "/ns/", kind.proc_name).c_str(),
             &target) < 0 ||
        stat(absl::StrCat("/proc/", daemon_pid, "/ns/", kind.proc_name).c_str(),
             &own) < 0) {
      continue;
    }
    v1::Namespace* ns = expected.add_namespaces();
    ns->set_type(kind.type);
    ns->set_device(target.st_dev);
    ns->set_inode(target.st_ino);
    ns->set_joined(target.st_dev != own.st_dev || target.st_ino != own.st_ino);
  }
  for (absl::string_view line :
       absl::StrSplit(ReadFile(absl::StrCat("/proc/", pid, "/cgroup")), '\n',
                      absl::SkipEmpty())) {
    std::vector<std::string> fields =
        absl::StrSplit(line, absl::MaxSplits(':', 2));
    v1::Cgroup* cgroup = expected.add_cgroups();
    uint32_t hierarchy_id = 0;
    EXPECT_TRUE(absl::SimpleAtoi(fields[0], &hierarchy_id)) << line;
    cgroup->set_hierarchy_id(hierarchy_id);
    cgroup->set_controllers(fields.size() > 1 ? fields[1] : "");
    cgroup->set_path(fields.size() > 2 ? fields[2] : "");
  }
  // The test machines run no LSM (no AppArmor, no SELinux), and attachd
  // never copies seccomp filters: both are said, not left out silently.
  expected.set_lsm("none");
  expected.add_not_applied("seccomp");
  expected.add_not_applied("lsm");
  return expected;
}

// Each test starts with no container registered.
class ContainerServiceTest : public SharedDaemonTest {
 protected:
  void SetUp() override {
    ASSERT_NE(daemon_, nullptr) << "the suite's daemon did not start";
    ASSERT_THAT(ListedNames(stub()), ::testing::IsEmpty());
  }
  // Whatever a failed test left registered must not show in the next.
  void TearDown() override {
    if (daemon_ == nullptr) {
      return;
    }
    for (const std::string& name : ListedNames(stub())) {
      Unregister(stub(), name);
    }
  }

  v1::ContainerService::Stub& stub() { return daemon_->containers(); }

  // Registers `pid` with its start time; fails the test if refused.
  v1::Container MustRegister(const std::string& name, pid_t pid) {
    v1::Container container;
    grpc::Status status =
        Register(stub(), name, pid, StartTimeOf(pid).value_or(0), &container);
    EXPECT_TRUE(status.ok()) << name << ": " << status.error_message();
    return container;
  }

  PausedChildren children_;
};

TEST_F(ContainerServiceTest, RegisterReturnsTheRecordTheHostShows) {
  struct Case {
    std::string name;
    // nullopt: a paused child of the test, in all of the test's namespaces.
    std::optional<TestContainerOptions> container;
  };
  TestContainerOptions without_user_namespace;
  without_user_namespace.user_namespace = false;
  without_user_namespace.create_cgroups = true;
  const std::vector<Case> cases = {
      {"all-eight", TestContainerOptions()},
      {"no-userns-own-cgroups", without_user_namespace},
      {"host-process", std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::optional<TestContainer> container;
    pid_t pid = 0;
    if (c.container.has_value()) {
      absl::StatusOr<TestContainer> started =
          TestContainer::Start(*c.container);
      ASSERT_TRUE(started.ok()) << started.status();
      container = std::move(*started);
      pid = container->pid();
    } else {
      pid = children_.Start();
    }
    v1::Container expected = ExpectedRecord(c.name, pid, daemon_->pid());

    absl::Time before = absl::Now();
    v1::Container registered;
    grpc::Status status =
        Register(stub(), c.name, pid, expected.start_time(), &registered);
    absl::Time after = absl::Now();
    ASSERT_TRUE(status.ok()) << status.error_message();

    ASSERT_TRUE(registered.has_registered_at());
    EXPECT_GE(ToTime(registered.registered_at()), before - absl::Seconds(1));
    EXPECT_LE(ToTime(registered.registered_at()), after + absl::Seconds(1));
    *expected.mutable_registered_at() = registered.registered_at();
    EXPECT_EQ(registered.DebugString(), expected.DebugString());

    v1::Container got;
    ASSERT_TRUE(Get(stub(), c.name, &got).ok());
    EXPECT_EQ(got.DebugString(), expected.DebugString());
  }
}

TEST_F(ContainerServiceTest, RegisterWithoutStartTimeRecordsTheActualOne) {
  pid_t pid = children_.Start();
  v1::Container registered;
  ASSERT_TRUE(
      Register(stub(), "no-start", pid, std::nullopt, &registered).ok());
  EXPECT_EQ(registered.start_time(), *StartTimeOf(pid));
}

TEST_F(ContainerServiceTest, NamesAtTheLimitsOfTheRulesAreAccepted) {
  for (const std::string& name :
       {std::string("a"), std::string("7"), std::string("a-b"),
        std::string("0-9"), std::string(63, 'z')}) {
    SCOPED_TRACE(name);
    v1::Container registered;
    grpc::Status status =
        Register(stub(), name, children_.Start(), std::nullopt, &registered);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(registered.name(), name);
  }
}

std::string BadNameMessage(const std::string& escaped_name) {
  return absl::StrCat("invalid container name \"", escaped_name,
                      "\": use 1 to 63 characters of a-z, 0-9 and '-', not "
                      "starting or ending with '-'");
}

TEST_F(ContainerServiceTest, BadRegistrationsAreRefusedWithTheirCode) {
  pid_t live = children_.Start();
  uint64_t start_time = *StartTimeOf(live);
  MustRegister("taken", children_.Start());
  // Pids are below pid_max: no process can have it.
  pid_t pid_max = 0;
  ASSERT_TRUE(absl::SimpleAtoi(
      absl::StripAsciiWhitespace(ReadFile("/proc/sys/kernel/pid_max")),
      &pid_max));

  struct Case {
    std::string name;
    pid_t pid;
    std::optional<uint64_t> start_time;
    grpc::StatusCode code;
    std::string message;
  };
  const grpc::StatusCode kInvalid = grpc::StatusCode::INVALID_ARGUMENT;
  const std::vector<Case> cases = {
      {"", live, std::nullopt, kInvalid, BadNameMessage("")},
      {"UPPER", live, std::nullopt, kInvalid, BadNameMessage("UPPER")},
      {"-x", live, std::nullopt, kInvalid, BadNameMessage("-x")},
      {"x-", live, std::nullopt, kInvalid, BadNameMessage("x-")},
      {std::string(64, 'a'), live, std::nullopt, kInvalid,
       BadNameMessage(std::string(64, 'a'))},
      {"a_b", live, std::nullopt, kInvalid, BadNameMessage("a_b")},
      {"a.b", live, std::nullopt, kInvalid, BadNameMessage("a.b")},
      {"a b", live, std::nullopt, kInvalid, BadNameMessage("a b")},
      {"caf\xc3\xa9", live, std::nullopt, kInvalid,
       BadNameMessage("caf\\xc3\\xa9")},
      {"zero", 0, std::nullopt, kInvalid, "invalid pid 0"},
      {"negative", -1, std::nullopt, kInvalid, "invalid pid -1"},
      {"most-negative", INT32_MIN, std::nullopt, kInvalid,
       absl::StrCat("invalid pid ", INT32_MIN)},
      {"no-process", pid_max, std::nullopt, grpc::StatusCode::NOT_FOUND,
       absl::StrCat("no process with pid ", pid_max)},
      {"largest-pid", INT32_MAX, std::nullopt, grpc::StatusCode::NOT_FOUND,
       absl::StrCat("no process with pid ", INT32_MAX)},
      {"wrong-start", live, start_time + 1,
       grpc::StatusCode::FAILED_PRECONDITION,
       absl::StrCat("pid ", live, " has start time ", start_time, ", not ",
                    start_time + 1,
                    ": it is not the process meant (pid reused?)")},
      {"taken", live, start_time, grpc::StatusCode::ALREADY_EXISTS,
       "a container named taken is already registered"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat("name \"", c.name, "\" pid ", c.pid));
    v1::Container container;
    grpc::Status status =
        Register(stub(), c.name, c.pid, c.start_time, &container);
    EXPECT_EQ(status.error_code(), c.code);
    EXPECT_EQ(status.error_message(), c.message);
  }

  // None of them was registered, not even in part.
  v1::Container container;
  grpc::Status status = Get(stub(), "wrong-start", &container);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no container named wrong-start");
  EXPECT_THAT(ListedNames(stub()), ElementsAre("taken"));
}

// Waits up to 5 s for `pid` (a child of the test) to be a zombie.
bool BecomesZombie(pid_t pid) {
  for (int i = 0; i < 500; ++i) {
    std::vector<std::string> fields = StatFields(pid);
    if (!fields.empty() && fields[0] == "Z") {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return false;
}

TEST_F(ContainerServiceTest, ExitedButUnreapedProcessIsRefused) {
  pid_t zombie = fork();
  if (zombie == 0) {
    _exit(0);
  }
  ASSERT_GT(zombie, 0);
  absl::Cleanup reap = [zombie] { waitpid(zombie, nullptr, 0); };
  ASSERT_TRUE(BecomesZombie(zombie));

  v1::Container container;
  grpc::Status status =
      Register(stub(), "zombie", zombie, *StartTimeOf(zombie), &container);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(),
            absl::StrCat("process ", zombie, " has exited"));
  EXPECT_TRUE(ListedNames(stub()).empty());
}

TEST(ContainerLimitTest, RegistrationBeyondTheLimitIsResourceExhausted) {
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start({"--max-containers", "2"});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  v1::ContainerService::Stub& stub = (*daemon)->containers();
  PausedChildren children;
  v1::Container container;
  ASSERT_TRUE(
      Register(stub, "first", children.Start(), std::nullopt, &container).ok());
  ASSERT_TRUE(
      Register(stub, "second", children.Start(), std::nullopt, &container)
          .ok());

  pid_t third = children.Start();
  grpc::Status status =
      Register(stub, "third", third, std::nullopt, &container);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(),
            "the limit of 2 registered containers is reached");
  EXPECT_THAT(ListedNames(stub), ElementsAre("first", "second"));

  // Unregistering makes room again.
  ASSERT_TRUE(Unregister(stub, "first").ok());
  status = Register(stub, "third", third, std::nullopt, &container);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(ListedNames(stub), ElementsAre("second", "third"));
}

TEST_F(ContainerServiceTest, ListIsSortedByNameAndMatchesGet) {
  for (const char* name : {"charlie", "alpha", "bravo-2", "bravo"}) {
    MustRegister(name, children_.Start());
  }
  v1::ListResponse list;
  ASSERT_TRUE(List(stub(), &list).ok());
  std::vector<std::string> names;
  for (const v1::Container& listed : list.containers()) {
    names.push_back(listed.name());
    v1::Container got;
    ASSERT_TRUE(Get(stub(), listed.name(), &got).ok());
    EXPECT_EQ(listed.DebugString(), got.DebugString());
  }
  EXPECT_THAT(names, ElementsAre("alpha", "bravo", "bravo-2", "charlie"));
}

TEST_F(ContainerServiceTest, UnknownNamesAreNotFound) {
  v1::Container container;
  grpc::Status get = Get(stub(), "nobody-here", &container);
  EXPECT_EQ(get.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(get.error_message(), "no container named nobody-here");
  grpc::Status unregister = Unregister(stub(), "nobody-here");
  EXPECT_EQ(unregister.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unregister.error_message(), "no container named nobody-here");
}

TEST_F(ContainerServiceTest, UnregisterForgetsTheContainerButLeavesItRunning) {
  pid_t pid = children_.Start();
  MustRegister("short-lived", pid);
  ASSERT_TRUE(Unregister(stub(), "short-lived").ok());

  v1::Container container;
  grpc::Status get = Get(stub(), "short-lived", &container);
  EXPECT_EQ(get.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(get.error_message(), "no container named short-lived");
  grpc::Status again = Unregister(stub(), "short-lived");
  EXPECT_EQ(again.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(ListedNames(stub()).empty());
  EXPECT_EQ(kill(pid, 0), 0);
  // Alive, not a zombie: unregistering sends no signal.
  EXPECT_NE(StatFields(pid)[0], "Z");

  // The name is free again.
  MustRegister("short-lived", pid);
}

TEST_F(ContainerServiceTest, HundredRegistrationsLeakNoDescriptor) {
  // A first round trip, so that whatever the daemon opens once is open.
  MustRegister("warm-up", children_.Start());
  ASSERT_TRUE(Unregister(stub(), "warm-up").ok());
  int before = daemon_->OpenDescriptorCount();
  ASSERT_GT(before, 0);

  constexpr int kContainers = 100;
  for (int i = 0; i < kContainers; ++i) {
    MustRegister(absl::StrCat("c-", i), children_.Start());
  }
  // One pidfd per container, held while it is registered.
  EXPECT_EQ(daemon_->OpenDescriptorCount(), before + kContainers);
  for (int i = 0; i < kContainers; ++i) {
    grpc::Status status = Unregister(stub(), absl::StrCat("c-", i));
    ASSERT_TRUE(status.ok()) << i << ": " << status.error_message();
  }
  EXPECT_EQ(daemon_->OpenDescriptorCount(), before);
}

TEST_F(ContainerServiceTest, ExitIsNoticedWithinTwoSeconds) {
  absl::StatusOr<TestContainer> container = TestContainer::Start();
  ASSERT_TRUE(container.ok()) << container.status();
  v1::Container registered = MustRegister("doomed", container->pid());
  ASSERT_TRUE(container->Kill(SIGKILL).ok());
  ASSERT_TRUE(container->WaitExited().ok());

  absl::Time killed = absl::Now();
  std::optional<v1::Container> exited =
      WaitForExited(stub(), "doomed", absl::Seconds(2));
  ASSERT_TRUE(exited.has_value()) << "still running after 2 s";
  ASSERT_TRUE(exited->has_exited_at());
  EXPECT_GE(ToTime(exited->exited_at()), ToTime(registered.registered_at()));
  EXPECT_LE(ToTime(exited->exited_at()), killed + absl::Seconds(2));

  // Only the state and the exit time changed.
  v1::Container expected = registered;
  expected.set_state(v1::Container::STATE_EXITED);
  *expected.mutable_exited_at() = exited->exited_at();
  EXPECT_EQ(exited->DebugString(), expected.DebugString());
  v1::ListResponse list;
  ASSERT_TRUE(List(stub(), &list).ok());
  ASSERT_EQ(list.containers_size(), 1);
  EXPECT_EQ(list.containers(0).DebugString(), expected.DebugString());
}

void ExpectEvent(const std::optional<v1::Event>& event, v1::Event::Type type,
                 const std::string& name, pid_t pid) {
  ASSERT_TRUE(event.has_value()) << "no event " << v1::Event::Type_Name(type);
  EXPECT_EQ(event->type(), type) << event->DebugString();
  EXPECT_EQ(event->container().name(), name);
  EXPECT_EQ(event->container().pid(), pid);
  EXPECT_TRUE(event->has_time());
}

TEST_F(ContainerServiceTest, WatchSeesRegisteredExitedUnregisteredInOrder) {
  EventStream events(stub(), /*include_existing=*/false);
  ASSERT_TRUE(WaitUntilSubscribed(events, stub(), children_.Start()));
  absl::StatusOr<TestContainer> container = TestContainer::Start();
  ASSERT_TRUE(container.ok()) << container.status();
  pid_t pid = container->pid();

  v1::Container registered = MustRegister("watched", pid);
  std::optional<v1::Event> event = events.Next();
  ASSERT_NO_FATAL_FAILURE(
      ExpectEvent(event, v1::Event::TYPE_REGISTERED, "watched", pid));
  EXPECT_EQ(event->container().DebugString(), registered.DebugString());

  ASSERT_TRUE(container->Kill(SIGKILL).ok());
  ASSERT_TRUE(container->WaitExited().ok());
  event = events.Next(absl::Seconds(2));
  ASSERT_NO_FATAL_FAILURE(
      ExpectEvent(event, v1::Event::TYPE_EXITED, "watched", pid));
  EXPECT_EQ(event->container().state(), v1::Container::STATE_EXITED);
  EXPECT_TRUE(event->container().has_exited_at());

  v1::Container last;
  ASSERT_TRUE(Get(stub(), "watched", &last).ok());
  ASSERT_TRUE(Unregister(stub(), "watched").ok());
  event = events.Next();
  ASSERT_NO_FATAL_FAILURE(
      ExpectEvent(event, v1::Event::TYPE_UNREGISTERED, "watched", pid));
  EXPECT_EQ(event->container().DebugString(), last.DebugString());

  EXPECT_FALSE(events.Next(absl::Milliseconds(300)).has_value());
  EXPECT_EQ(events.Cancel().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(ContainerServiceTest, WatchWithIncludeExistingReplaysThemFirst) {
  pid_t exited_pid = children_.Start();
  MustRegister("alpha-exited", exited_pid);
  pid_t running_pid = children_.Start();
  MustRegister("bravo-running", running_pid);
  ASSERT_EQ(kill(exited_pid, SIGKILL), 0);
  std::optional<v1::Container> exited =
      WaitForExited(stub(), "alpha-exited", absl::Seconds(2));
  ASSERT_TRUE(exited.has_value());

  EventStream events(stub(), /*include_existing=*/true);
  std::optional<v1::Event> event = events.Next();
  ASSERT_NO_FATAL_FAILURE(ExpectEvent(event, v1::Event::TYPE_REGISTERED,
                                      "alpha-exited", exited_pid));
  // The replayed registration shows the container as it was then.
  EXPECT_EQ(event->container().state(), v1::Container::STATE_RUNNING);
  EXPECT_FALSE(event->container().has_exited_at());
  event = events.Next();
  ASSERT_NO_FATAL_FAILURE(
      ExpectEvent(event, v1::Event::TYPE_EXITED, "alpha-exited", exited_pid));
  EXPECT_EQ(event->container().DebugString(), exited->DebugString());
  event = events.Next();
  ASSERT_NO_FATAL_FAILURE(ExpectEvent(event, v1::Event::TYPE_REGISTERED,
                                      "bravo-running", running_pid));
  EXPECT_EQ(event->container().state(), v1::Container::STATE_RUNNING);

  // Then changes follow, and nothing is replayed twice.
  pid_t new_pid = children_.Start();
  MustRegister("charlie-new", new_pid);
  ASSERT_NO_FATAL_FAILURE(ExpectEvent(events.Next(), v1::Event::TYPE_REGISTERED,
                                      "charlie-new", new_pid));
  EXPECT_FALSE(events.Next(absl::Milliseconds(300)).has_value());
  EXPECT_EQ(events.Cancel().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(ContainerServiceTest, WatchWithIncludeExistingAndNoContainersIsQuiet) {
  EventStream events(stub(), /*include_existing=*/true);
  EXPECT_FALSE(events.Next(absl::Milliseconds(300)).has_value());
  EXPECT_EQ(events.Cancel().error_code(), grpc::StatusCode::CANCELLED);
}

// What a run of attachctl printed and how it ended.
struct Outcome {
  int exit_code = -1;
  std::string stdout_bytes;
  std::string stderr_bytes;
};

std::string ReadMemfd(int fd) {
  std::string text;
  char buffer[4096];
  off_t at = 0;
  ssize_t n;
  while ((n = pread(fd, buffer, sizeof(buffer), at)) > 0) {
    text.append(buffer, n);
    at += n;
  }
  return text;
}

// Runs attachctl with `args` as `uid`, `gid` and exactly `groups`.  The
// binary is opened before the credentials change and run through its fd:
// Bazel's output tree is below /root, which the new uid cannot search.
absl::StatusOr<Outcome> RunAttachctlAs(uid_t uid, gid_t gid,
                                       const std::vector<gid_t>& groups,
                                       std::vector<std::string> args) {
  absl::StatusOr<std::string> path = RunfilePath("client/attachctl");
  if (!path.ok()) {
    return path.status();
  }
  int binary = open(path->c_str(), O_RDONLY | O_CLOEXEC);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int out = memfd_create("attachctl-stdout", MFD_CLOEXEC);
  int err = memfd_create("attachctl-stderr", MFD_CLOEXEC);
  absl::Cleanup close_all = [=] {
    for (int fd : {binary, null, out, err}) {
      close(fd);
    }
  };
  if (binary < 0 || null < 0 || out < 0 || err < 0) {
    return absl::ErrnoToStatus(errno, "open attachctl, /dev/null or memfd");
  }
  args.insert(args.begin(), "attachctl");
  std::vector<char*> argv;
  for (std::string& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  char path_entry[] = "PATH=/usr/bin:/bin";
  char* envp[] = {path_entry, nullptr};

  // Between fork and exec only async-signal-safe calls: the test process
  // has gRPC threads.  Raw syscalls, because glibc's set*id would try to
  // reach threads the child does not have.
  pid_t child = fork();
  if (child == 0) {
    if (dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 ||
        syscall(SYS_setgroups, groups.size(), groups.data()) < 0 ||
        syscall(SYS_setresgid, gid, gid, gid) < 0 ||
        syscall(SYS_setresuid, uid, uid, uid) < 0 || chdir("/") < 0) {
      _exit(126);
    }
    syscall(SYS_execveat, binary, "", argv.data(), envp, AT_EMPTY_PATH);
    _exit(127);
  }
  if (child < 0) {
    return absl::ErrnoToStatus(errno, "fork");
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child) {
    return absl::ErrnoToStatus(errno, "waitpid");
  }
  Outcome outcome;
  outcome.exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  outcome.stdout_bytes = ReadMemfd(out);
  outcome.stderr_bytes = ReadMemfd(err);
  return outcome;
}

absl::StatusOr<gid_t> GroupId(const std::string& name) {
  char buffer[16384];
  struct group entry;
  struct group* result = nullptr;
  getgrnam_r(name.c_str(), &entry, buffer, sizeof(buffer), &result);
  if (result == nullptr) {
    return absl::NotFoundError(absl::StrCat("no group ", name));
  }
  return entry.gr_gid;
}

// Runs a shadow-utils command, retrying while another process holds the
// lock on /etc/group (exit code 10): tests run concurrently.
absl::Status RunRetryingLock(const std::vector<std::string>& argv) {
  absl::Status status;
  for (int attempt = 0; attempt < 50; ++attempt) {
    status = RunCommand(argv).status();
    if (status.ok()) {
      return status;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return status;
}

TEST(AuthorizationTest, OnlyRootAndTheAllowedGroupMayCall) {
  const std::string group = absl::StrCat("attachd-test-", getpid());
  ASSERT_TRUE(RunRetryingLock({"groupadd", group}).ok());
  absl::Cleanup remove_group = [&group] {
    absl::Status removed = RunRetryingLock({"groupdel", group});
    EXPECT_TRUE(removed.ok()) << removed;
  };
  absl::StatusOr<gid_t> allowed = GroupId(group);
  ASSERT_TRUE(allowed.ok()) << allowed.status();

  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start({"--group", group});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  // Anyone may connect; the daemon itself decides who may call.
  const std::string& socket = (*daemon)->socket_path();
  ASSERT_EQ(chmod(socket.substr(0, socket.rfind('/')).c_str(), 0755), 0);
  ASSERT_EQ(chmod(socket.c_str(), 0666), 0);
  PausedChildren children;
  v1::Container container;
  ASSERT_TRUE(Register((*daemon)->containers(), "visible", children.Start(),
                       std::nullopt, &container)
                  .ok());

  struct Case {
    std::string description;
    gid_t gid;
    std::vector<gid_t> groups;
    int exit_code;
    std::string stdout_bytes;
    std::string stderr_substring;
  };
  const std::string denied =
      "uid 65534 may not use attachd: only root and the allowed group may";
  const std::vector<Case> cases = {
      {"no groups", 65534, {}, 1, "", denied},
      {"other supplementary group", 65534, {65534}, 1, "", denied},
      {"allowed supplementary group", 65534, {*allowed}, 0, "visible\n", ""},
      {"allowed primary group", *allowed, {}, 0, "visible\n", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.description);
    absl::StatusOr<Outcome> outcome = RunAttachctlAs(
        65534, c.gid, c.groups, {"--socket", socket, "ls", "-q"});
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    EXPECT_EQ(outcome->exit_code, c.exit_code) << outcome->stderr_bytes;
    EXPECT_EQ(outcome->stdout_bytes, c.stdout_bytes);
    if (c.stderr_substring.empty()) {
      EXPECT_EQ(outcome->stderr_bytes, "");
    } else {
      EXPECT_THAT(outcome->stderr_bytes, HasSubstr(c.stderr_substring));
    }
  }

  // Root is always allowed.
  EXPECT_THAT(ListedNames((*daemon)->containers()), ElementsAre("visible"));
}

// One unary call of the gRPC health service, with the serialized request
// `request`; returns the serialized response.
grpc::Status HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& request, std::string* response) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::CompletionQueue queue;
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check",
                            request_buffer, &queue);
  call->StartCall();
  grpc::ByteBuffer response_buffer;
  grpc::Status status;
  call->Finish(&response_buffer, &status, nullptr);
  void* tag = nullptr;
  bool ok = false;
  queue.Next(&tag, &ok);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }

  std::vector<grpc::Slice> slices;
  response->clear();
  if (status.ok() && response_buffer.Dump(&slices).ok()) {
    for (const grpc::Slice& part : slices) {
      response->append(reinterpret_cast<const char*>(part.begin()),
                       part.size());
    }
  }
  return status;
}

TEST_F(ContainerServiceTest, HealthServiceAnswersServing) {
  std::string response;
  // HealthCheckRequest{service: ""} is empty; the response is
  // HealthCheckResponse{status: SERVING (1)}.
  grpc::Status status = HealthCheck(daemon_->channel(), "", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response, std::string("\x08\x01", 2));

  // HealthCheckRequest{service: "nope"}: a service the daemon does not know.
  status = HealthCheck(daemon_->channel(), std::string("\x0a\x04nope", 6),
                       &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace attachd::testing
