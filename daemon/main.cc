// attachd: a daemon that acts inside running containers it did not start.
// See README.md for what it does and how to run it.

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/attach.h"
#include "daemon/container_service.h"
#include "daemon/exec_service.h"
#include "daemon/logging.h"
#include "daemon/lsm.h"
#include "daemon/namespaces.h"
#include "daemon/registry.h"
#include "daemon/server.h"
#include "daemon/service_notifier.h"
#include "daemon/status_macros.h"

namespace attachd::daemon {
namespace {

struct Flags {
  std::string socket_path = "/run/attachd/attachd.sock";
  std::string group;
  std::string attach_mode = "auto";
  size_t max_containers = 100000;
  double drain_timeout_seconds = 1.0;
  bool debug = false;
};

// Descriptors 0, 1 and 2 must be open, so that no pipe or socket the
// daemon opens later takes their numbers and is mistaken for stdio.
void EnsureStdioOpen() {
  for (int fd = 0; fd < 3; ++fd) {
    if (fcntl(fd, F_GETFD) < 0) {
      open("/dev/null", O_RDWR);
    }
  }
}

absl::StatusOr<std::optional<gid_t>> ResolveGroup(const std::string& name) {
  if (name.empty()) {
    return std::nullopt;
  }
  char buffer[16384];
  struct group entry;
  struct group* result = nullptr;
  int error = getgrnam_r(name.c_str(), &entry, buffer, sizeof(buffer), &result);
  if (result == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("group \"", name,
                     "\": ", error != 0 ? strerror(error) : "no such group"));
  }
  return entry.gr_gid;
}

// Thousands of pidfds need more than the usual 1024 descriptors.  Returns
// the limit attachd started with, which commands get back.
rlimit RaiseFileLimit() {
  rlimit original;
  getrlimit(RLIMIT_NOFILE, &original);
  rlimit raised = original;
  raised.rlim_cur = raised.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &raised) < 0) {
    Log(LogLevel::kWarning, "could not raise the descriptor limit to %d",
        static_cast<int>(raised.rlim_max));
  }
  return original;
}

std::string DescribeCgroupLayout(const std::vector<CgroupMount>& mounts) {
  bool unified = false;
  bool legacy = false;
  for (const CgroupMount& mount : mounts) {
    (mount.unified ? unified : legacy) = true;
  }
  if (unified && legacy) {
    return "hybrid (cgroup v1 controllers and cgroup2)";
  }
  return unified ? "cgroup2 (unified)" : legacy ? "cgroup v1" : "none";
}

void LogStartup(const Flags& flags, const Attacher& attacher,
                const std::string& where) {
  struct utsname uts;
  uname(&uts);
  Log(LogLevel::kInfo,
      "attachd serving on %s; kernel %s; attach with %s; cgroups: %s; "
      "max %d containers; group %s",
      where, uts.release,
      attacher.uses_pidfd_setns() ? "one setns(pidfd) call"
                                  : "one nsfd per namespace",
      DescribeCgroupLayout(attacher.cgroup_mounts()),
      static_cast<int>(flags.max_containers),
      flags.group.empty() ? "(root only)" : flags.group);
  if (!attacher.uses_pidfd_setns()) {
    Log(LogLevel::kWarning,
        "attaching through one nsfd per namespace: not atomic, and slower");
  }
  Log(LogLevel::kInfo, "%s", DescribeLsm(ActiveLsm()));
}

int Run(const Flags& flags) {
  EnsureStdioOpen();
  SetLogLevel(flags.debug ? LogLevel::kDebug : LogLevel::kInfo);

  // Signals are taken synchronously by the main thread; every thread
  // started below inherits this mask.  Workers reset theirs.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  rlimit command_file_limit = RaiseFileLimit();

  auto fail = [](const absl::Status& status) {
    Log(LogLevel::kError, "attachd: %s", status.ToString());
    return 1;
  };
  if (geteuid() != 0) {
    return fail(absl::PermissionDeniedError(
        "attachd must run as root: it opens pidfds of other users' "
        "processes and joins their namespaces"));
  }
  absl::StatusOr<std::optional<gid_t>> group = ResolveGroup(flags.group);
  absl::StatusOr<AttachMode> mode = ParseAttachMode(flags.attach_mode);
  if (!group.ok() || !mode.ok()) {
    return fail(group.ok() ? mode.status() : group.status());
  }
  absl::StatusOr<Attacher> attacher = Attacher::Create(*mode);
  absl::StatusOr<NamespaceIds> own = ReadOwnNamespaceIds();
  if (!attacher.ok() || !own.ok()) {
    return fail(attacher.ok() ? own.status() : attacher.status());
  }
  absl::StatusOr<std::unique_ptr<Registry>> registry =
      Registry::Create(*own, flags.max_containers);
  if (!registry.ok()) {
    return fail(registry.status());
  }

  Authorizer authorizer(*group);
  ContainerServiceImpl containers(registry->get(), &authorizer);
  ExecOptions exec_options;
  exec_options.drain_timeout = absl::Seconds(flags.drain_timeout_seconds);
  exec_options.command_file_limit = command_file_limit;
  ExecServiceImpl exec(registry->get(), &*attacher, &authorizer, exec_options);
  ServerOptions server_options;
  server_options.socket_path = flags.socket_path;
  server_options.group = *group;
  absl::StatusOr<std::unique_ptr<Server>> server =
      Server::Start(server_options, &authorizer, {&containers, &exec});
  if (!server.ok()) {
    return fail(server.status());
  }
  LogStartup(flags, *attacher, (*server)->description());
  ServiceNotifier notifier(registry->get());
  notifier.Start();

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  Log(LogLevel::kInfo, "%s: shutting down", strsignal(signal_number));
  notifier.Stopping();
  (*registry)->CloseSubscriptions();
  (*server)->Shutdown(absl::Seconds(5));
  return 0;
}

}  // namespace
}  // namespace attachd::daemon

int main(int argc, char** argv) {
  attachd::daemon::Flags flags;
  CLI::App app{"attachd: act inside running containers through pidfds"};
  app.add_option("--socket", flags.socket_path, "Unix socket to serve on")
      ->capture_default_str();
  app.add_option("--group", flags.group,
                 "group whose members may call attachd besides root");
  app.add_option("--attach-mode", flags.attach_mode,
                 "auto, pidfd (setns with a pidfd) or nsfd (one setns per "
                 "namespace file)")
      ->capture_default_str();
  app.add_option("--max-containers", flags.max_containers,
                 "most containers registered at once")
      ->capture_default_str();
  app.add_option("--drain-timeout", flags.drain_timeout_seconds,
                 "seconds to keep forwarding output after a command exits, "
                 "while its background processes hold stdout or stderr")
      ->capture_default_str();
  app.add_flag("--debug", flags.debug, "log debug messages");
  CLI11_PARSE(app, argc, argv);
  return attachd::daemon::Run(flags);
}
