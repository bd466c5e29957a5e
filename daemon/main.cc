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
#include "daemon/config.h"
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

absl::Duration ToDuration(const google::protobuf::Duration& duration) {
  return absl::Seconds(duration.seconds()) +
         absl::Nanoseconds(duration.nanos());
}

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

void LogStartup(const v1::DaemonConfig& config, const Attacher& attacher,
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
      static_cast<int>(config.max_containers()),
      config.group().empty() ? "(root only)" : config.group());
  if (!attacher.uses_pidfd_setns()) {
    Log(LogLevel::kWarning,
        "attaching through one nsfd per namespace: not atomic, and slower");
  }
  Log(LogLevel::kInfo, "%s", DescribeLsm(ActiveLsm()));
}

int Run(const v1::DaemonConfig& config) {
  EnsureStdioOpen();
  SetLogLevel(config.debug() ? LogLevel::kDebug : LogLevel::kInfo);

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
  absl::StatusOr<std::optional<gid_t>> group = ResolveGroup(config.group());
  absl::StatusOr<AttachMode> mode = ParseAttachMode(config.attach_mode());
  if (!group.ok() || !mode.ok()) {
    return fail(group.ok() ? mode.status() : group.status());
  }
  absl::StatusOr<Attacher> attacher = Attacher::Create(*mode);
  absl::StatusOr<NamespaceIds> own = ReadOwnNamespaceIds();
  if (!attacher.ok() || !own.ok()) {
    return fail(attacher.ok() ? own.status() : attacher.status());
  }
  absl::StatusOr<std::unique_ptr<Registry>> registry =
      Registry::Create(*own, config.max_containers());
  if (!registry.ok()) {
    return fail(registry.status());
  }

  Authorizer authorizer(*group);
  ContainerServiceImpl containers(registry->get(), &authorizer);
  ExecOptions exec_options;
  exec_options.drain_timeout = ToDuration(config.drain_timeout());
  if (config.has_default_exec_timeout()) {
    exec_options.default_timeout = ToDuration(config.default_exec_timeout());
  }
  exec_options.max_concurrent_execs = config.max_concurrent_execs();
  exec_options.command_file_limit = command_file_limit;
  ExecServiceImpl exec(registry->get(), &*attacher, &authorizer, exec_options);
  ServerOptions server_options;
  server_options.socket_path = config.socket();
  server_options.group = *group;
  absl::StatusOr<std::unique_ptr<Server>> server =
      Server::Start(server_options, &authorizer, {&containers, &exec});
  if (!server.ok()) {
    return fail(server.status());
  }
  LogStartup(config, *attacher, (*server)->description());
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
  std::string config_path;
  std::string socket;
  std::string group;
  std::string attach_mode;
  uint32_t max_containers = 0;
  double drain_timeout_seconds = 0;
  bool debug = false;
  CLI::App app{"attachd: act inside running containers through pidfds",
               "attachd"};
  app.add_option("--config", config_path,
                 "configuration file (text format of attachd.v1.DaemonConfig, "
                 "proto/attachd/v1/config.proto); flags given here win");
  CLI::Option* socket_flag =
      app.add_option("--socket", socket,
                     "Unix socket to serve on "
                     "(default /run/attachd/attachd.sock)");
  CLI::Option* group_flag = app.add_option(
      "--group", group, "group whose members may call attachd besides root");
  CLI::Option* mode_flag =
      app.add_option("--attach-mode", attach_mode,
                     "auto, pidfd (setns with a pidfd) or nsfd (one setns per "
                     "namespace file) (default auto)");
  CLI::Option* max_flag =
      app.add_option("--max-containers", max_containers,
                     "most containers registered at once (default 100000)");
  CLI::Option* drain_flag = app.add_option(
      "--drain-timeout", drain_timeout_seconds,
      "seconds to keep forwarding output after a command exits, while its "
      "background processes hold stdout or stderr (default 1)");
  app.add_flag("--debug", debug, "log debug messages");
  CLI11_PARSE(app, argc, argv);

  attachd::v1::DaemonConfig config;
  if (!config_path.empty()) {
    absl::StatusOr<attachd::v1::DaemonConfig> loaded =
        attachd::daemon::LoadConfigFile(config_path);
    if (!loaded.ok()) {
      attachd::daemon::Log(attachd::daemon::LogLevel::kError, "attachd: %s",
                           loaded.status().ToString());
      return 1;
    }
    config = *std::move(loaded);
  }
  if (socket_flag->count() > 0) {
    config.set_socket(socket);
  }
  if (group_flag->count() > 0) {
    config.set_group(group);
  }
  if (mode_flag->count() > 0) {
    config.set_attach_mode(attach_mode);
  }
  if (max_flag->count() > 0) {
    config.set_max_containers(max_containers);
  }
  if (drain_flag->count() > 0) {
    absl::Duration drain = absl::Seconds(drain_timeout_seconds);
    config.mutable_drain_timeout()->set_seconds(
        absl::IDivDuration(drain, absl::Seconds(1), &drain));
    config.mutable_drain_timeout()->set_nanos(absl::ToInt64Nanoseconds(drain));
  }
  config.set_debug(config.debug() || debug);
  return attachd::daemon::Run(attachd::daemon::WithDefaults(config));
}
