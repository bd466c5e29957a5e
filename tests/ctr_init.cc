// ctr_init: starts one real container for attachd's integration tests.
//
//   ctr_init --rootfs DIR [--cgroup DIR]... [--no-userns] [--uid-base N]
//            [--hostname NAME] [--time-offset SECONDS] [-- COMMAND [ARG]...]
//
// The container's init runs COMMAND (default: /bin/sleep 1000000) with DIR as
// its root, as pid 1 of new user, mount, pid, net, ipc, uts, cgroup and time
// namespaces, all owned by the new user namespace.  The user namespace maps
// container ids 0..65535 to host ids N..N+65535 (default N = 100000); with
// --no-userns the other seven namespaces are owned by the host's.
//
// Contract:
// - stdout carries exactly one line, "<host pid of the init>\n", written once
//   the init has exec'd COMMAND; stdout is closed right after.  COMMAND's
//   stdout and stderr are the launcher's stderr; its stdin is the launcher's.
// - The launcher then stays as the container's monitor, in the host's
//   namespaces and cgroups: it reaps the init and exits with the init's exit
//   code, or 128+N if the init was killed by signal N.  It does not forward
//   signals, and it does not kill the container when its own parent dies.
// - Each --cgroup DIR (an absolute cgroup directory, v1 or cgroup2) is joined
//   by writing "0" to DIR/cgroup.procs before the cgroup namespace is made,
//   so DIR is the root of the container's cgroup namespace.
// - --time-offset S sets the monotonic and boottime offsets of the new time
//   namespace to S seconds.
// - On failure it prints "ctr_init: <step>: <error>" to stderr and exits 1
//   (2 for a usage error) without printing a pid line.
//
// Processes:
//   launcher -- fork --> setup process -- clone(CLONE_PARENT) --> init
// The setup process joins the cgroups, unshares the user namespace and waits
// while the launcher, still privileged in the host user namespace, writes its
// uid_map and gid_map (as util-linux unshare does from a helper).  It then
// becomes root in the new user namespace and unshares the other namespaces.
// Because that happens after the user namespace exists, every namespace is
// owned by it; setns(pidfd, all flags) into the container needs exactly that.
// CLONE_PARENT makes the init the launcher's child, so the setup process can
// exit and the launcher is the only process outside the container.
//
// The launcher is single-threaded.  Its children use only system calls and
// data prepared before the fork, and report failures as a Report over a
// CLOEXEC pipe; the pipe reaching end-of-file means the init has exec'd.

#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// What a child process tells the launcher.  Steps name what failed; the last
// two kinds are progress messages.
enum Kind : int32_t {
  kJoinCgroup,
  kUnshareUser,
  kWriteIdMaps,
  kWaitForIdMaps,
  kBecomeRoot,
  kUnshareNamespaces,
  kWriteTimeOffsets,
  kSetHostname,
  kCloneInit,
  kMakeMountsPrivate,
  kBindRootfs,
  kEnterRootfs,
  kMountProc,
  kMountTmp,
  kMountDev,
  kMakeDevNode,
  kPivotRoot,
  kDetachOldRoot,
  kRedirectStdout,
  kExec,
  kReadReport,
  kUserNamespaceReady,
  kInitPid,
};

constexpr const char* kStepNames[] = {
    "join cgroup",
    "unshare(CLONE_NEWUSER)",
    "write uid_map/gid_map of setup process",
    "wait for uid_map/gid_map",
    "become root in the user namespace",
    "unshare(mnt|pid|net|ipc|uts|cgroup|time)",
    "write /proc/self/timens_offsets",
    "sethostname",
    "clone3(CLONE_PARENT) the init",
    "make mounts private",
    "bind-mount rootfs",
    "chdir to rootfs",
    "mount proc at /proc",
    "mount tmpfs at /tmp",
    "mount tmpfs at /dev",
    "bind-mount device node",
    "pivot_root",
    "detach old root",
    "redirect stdout to stderr",
    "execve",
    "read report from setup process",
};

// `value` is an errno for a failed step, the init's pid for kInitPid.
// `index` says which cgroup or device node a step was working on.
struct Report {
  int32_t kind;
  int32_t value;
  int32_t index;
};

constexpr int kNamespaceFlags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET |
                                CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP |
                                CLONE_NEWTIME;

// Host device nodes bind-mounted into the container's /dev.  A tmpfs mounted
// in a user namespace refuses device nodes, so they cannot be made with mknod.
constexpr const char* kDeviceNodes[][2] = {
    {"/dev/null", "dev/null"},       {"/dev/zero", "dev/zero"},
    {"/dev/full", "dev/full"},       {"/dev/random", "dev/random"},
    {"/dev/urandom", "dev/urandom"},
};

constexpr const char* kDevSymlinks[][2] = {
    {"/proc/self/fd", "dev/fd"},       {"/proc/self/fd/0", "dev/stdin"},
    {"/proc/self/fd/1", "dev/stdout"}, {"/proc/self/fd/2", "dev/stderr"},
    {"pts/ptmx", "dev/ptmx"},
};

constexpr const char* kContainerEnvironment[] = {
    "PATH=/bin:/sbin:/usr/bin:/usr/sbin",
    "HOME=/root",
    nullptr,
};

// Everything the children need, prepared before fork.
struct Plan {
  std::string rootfs;
  std::vector<std::string> cgroups;
  std::vector<std::string> cgroup_procs_files;
  bool user_namespace = true;
  std::string id_map;  // "0 <uid base> 65536\n"
  bool has_time_offset = false;
  std::string time_offsets;  // the text for /proc/self/timens_offsets
  std::string hostname;
  std::vector<std::string> command;
  std::vector<char*> argv;
};

void Usage() {
  fprintf(stderr,
          "usage: ctr_init --rootfs DIR [--cgroup DIR]... [--no-userns] "
          "[--uid-base N] [--hostname NAME] [--time-offset SECONDS] "
          "[-- COMMAND [ARG]...]\n");
}

bool ParseInt(const char* text, long long min, long long max,
              long long* value) {
  char* end = nullptr;
  errno = 0;
  long long parsed = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || parsed < min ||
      parsed > max) {
    return false;
  }
  *value = parsed;
  return true;
}

// Parses one option that takes a value; returns false on a usage error.
bool ParseValueOption(const std::string& name, const char* value, Plan* plan) {
  long long number = 0;
  if (name == "--rootfs") {
    plan->rootfs = value;
  } else if (name == "--cgroup") {
    plan->cgroups.push_back(value);
  } else if (name == "--hostname") {
    plan->hostname = value;
  } else if (name == "--uid-base" &&
             ParseInt(value, 0, 0xffffffffLL - 65536, &number)) {
    plan->id_map = "0 " + std::to_string(number) + " 65536\n";
  } else if (name == "--time-offset" &&
             ParseInt(value, -(1LL << 40), 1LL << 40, &number)) {
    plan->has_time_offset = true;
    plan->time_offsets = "monotonic " + std::to_string(number) +
                         " 0\nboottime " + std::to_string(number) + " 0\n";
  } else {
    return false;
  }
  return true;
}

bool ParseArguments(int argc, char** argv, Plan* plan) {
  plan->id_map = "0 100000 65536\n";
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "--no-userns") {
      plan->user_namespace = false;
      continue;
    }
    if (i + 1 >= argc || !ParseValueOption(arg, argv[i + 1], plan)) {
      return false;
    }
    ++i;
  }
  for (; i < argc; ++i) {
    plan->command.push_back(argv[i]);
  }
  return !plan->rootfs.empty() && plan->hostname.size() <= 64;
}

void CompletePlan(Plan* plan) {
  if (plan->command.empty()) {
    plan->command = {"/bin/sleep", "1000000"};
  }
  for (std::string& word : plan->command) {
    plan->argv.push_back(word.data());
  }
  plan->argv.push_back(nullptr);

  for (const std::string& cgroup : plan->cgroups) {
    plan->cgroup_procs_files.push_back(cgroup + "/cgroup.procs");
  }
}

// Async-signal-safe.
bool WriteFile(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  ssize_t length = static_cast<ssize_t>(strlen(text));
  ssize_t written = write(fd, text, length);
  int saved_errno = errno;
  close(fd);
  errno = saved_errno;
  return written == length;
}

// Async-signal-safe.  Reports errno for `kind` and exits the child.
[[noreturn]] void Fail(int report_fd, Kind kind, int index = 0) {
  Report report = {kind, errno, index};
  ssize_t ignored = write(report_fd, &report, sizeof(report));
  (void)ignored;
  _exit(1);
}

// Async-signal-safe.
void SendReport(int report_fd, Kind kind, int value) {
  Report report = {kind, value, 0};
  ssize_t ignored = write(report_fd, &report, sizeof(report));
  (void)ignored;
}

// Async-signal-safe.  Builds /dev on a fresh tmpfs: host device nodes bound
// in, the usual symlinks, and a private devpts instance where the kernel
// allows one (it is optional: the tests use no terminals).
void PopulateDev(int report_fd) {
  if (mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME,
            "mode=755,size=64k") != 0) {
    Fail(report_fd, kMountDev);
  }

  for (size_t i = 0; i < sizeof(kDeviceNodes) / sizeof(kDeviceNodes[0]); ++i) {
    int fd = open(kDeviceNodes[i][1], O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) {
      Fail(report_fd, kMakeDevNode, static_cast<int>(i));
    }
    close(fd);
    if (mount(kDeviceNodes[i][0], kDeviceNodes[i][1], nullptr, MS_BIND,
              nullptr) != 0) {
      Fail(report_fd, kMakeDevNode, static_cast<int>(i));
    }
  }

  for (const auto& link : kDevSymlinks) {
    if (symlink(link[0], link[1]) != 0) {
      Fail(report_fd, kMountDev);
    }
  }

  if (mkdir("dev/pts", 0755) == 0) {
    mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
          "newinstance,ptmxmode=0666,mode=0620");
  }
}

// Async-signal-safe.  Makes the rootfs a mount point of its own and the
// working directory, with fresh proc, /tmp and /dev mounted in it.
void MountRootfs(const Plan& plan, int report_fd) {
  // Nothing done here may propagate back to the host's mounts, and
  // pivot_root refuses shared mounts.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    Fail(report_fd, kMakeMountsPrivate);
  }

  // pivot_root needs the new root to be a mount point.
  const char* rootfs = plan.rootfs.c_str();
  if (mount(rootfs, rootfs, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    Fail(report_fd, kBindRootfs);
  }
  if (chdir(rootfs) != 0) {
    Fail(report_fd, kEnterRootfs);
  }

  // Mounted before the old root goes away: in a user namespace the kernel
  // lets a new proc be mounted only while an unobstructed proc is visible.
  if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
            nullptr) != 0) {
    Fail(report_fd, kMountProc);
  }
  if (mount("tmpfs", "tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0) {
    Fail(report_fd, kMountTmp);
  }
  PopulateDev(report_fd);
}

// Async-signal-safe.  Runs as pid 1 of the new pid namespace, in the setup
// process's new mount namespace, which no other process uses once the setup
// process has exited.
[[noreturn]] void RunInit(const Plan& plan, int report_fd) {
  MountRootfs(plan, report_fd);

  // pivot_root(".", ".") stacks the old root on top of the new one; the
  // lazy unmount then removes it without needing a directory for it.
  if (syscall(SYS_pivot_root, ".", ".") != 0) {
    Fail(report_fd, kPivotRoot);
  }
  if (umount2(".", MNT_DETACH) != 0 || chdir("/") != 0) {
    Fail(report_fd, kDetachOldRoot);
  }

  if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    Fail(report_fd, kRedirectStdout);
  }
  execve(plan.argv[0], plan.argv.data(),
         const_cast<char* const*>(kContainerEnvironment));
  Fail(report_fd, kExec);
}

// Async-signal-safe.  Unshares the user namespace and waits while the
// launcher writes its id maps.
void EnterUserNamespace(int report_fd, int maps_written_fd) {
  if (unshare(CLONE_NEWUSER) != 0) {
    Fail(report_fd, kUnshareUser);
  }

  SendReport(report_fd, kUserNamespaceReady, 0);
  char byte = 0;
  ssize_t n = read(maps_written_fd, &byte, 1);
  if (n != 1) {
    errno = n < 0 ? errno : ECONNABORTED;
    Fail(report_fd, kWaitForIdMaps);
  }
}

// Async-signal-safe.  Container uid and gid 0 are the host's uid base.  The
// launcher wrote gid_map with privilege in the host user namespace, so
// setgroups stays allowed.
void BecomeRoot(int report_fd) {
  if (setresgid(0, 0, 0) != 0 || setgroups(0, nullptr) != 0 ||
      setresuid(0, 0, 0) != 0) {
    Fail(report_fd, kBecomeRoot);
  }
}

// Async-signal-safe.  clone3 because it is the raw fork-like call that takes
// CLONE_PARENT; with CLONE_PARENT, exit_signal must be 0 and the child
// inherits this process's (SIGCHLD).
pid_t CloneSibling() {
  struct clone_args args;
  memset(&args, 0, sizeof(args));
  args.flags = CLONE_PARENT;
  return static_cast<pid_t>(syscall(SYS_clone3, &args, sizeof(args)));
}

// Async-signal-safe.
[[noreturn]] void RunSetup(const Plan& plan, int report_fd,
                           int maps_written_fd) {
  for (size_t i = 0; i < plan.cgroup_procs_files.size(); ++i) {
    if (!WriteFile(plan.cgroup_procs_files[i].c_str(), "0")) {
      Fail(report_fd, kJoinCgroup, static_cast<int>(i));
    }
  }

  if (plan.user_namespace) {
    EnterUserNamespace(report_fd, maps_written_fd);
  }

  if (unshare(kNamespaceFlags) != 0) {
    Fail(report_fd, kUnshareNamespaces);
  }
  // The offsets can be set only until the first process enters the time
  // namespace, which is the init below.  They are written before BecomeRoot:
  // changing uid makes the process non-dumpable, which hands its /proc/self
  // files to host root, whom the new user namespace cannot write for.
  if (plan.has_time_offset &&
      !WriteFile("/proc/self/timens_offsets", plan.time_offsets.c_str())) {
    Fail(report_fd, kWriteTimeOffsets);
  }
  if (plan.user_namespace) {
    BecomeRoot(report_fd);
  }

  if (!plan.hostname.empty() &&
      sethostname(plan.hostname.data(), plan.hostname.size()) != 0) {
    Fail(report_fd, kSetHostname);
  }

  pid_t init = CloneSibling();
  if (init < 0) {
    Fail(report_fd, kCloneInit);
  }
  if (init == 0) {
    RunInit(plan, report_fd);
  }
  SendReport(report_fd, kInitPid, init);
  _exit(0);
}

// Writes the setup process's id maps from the host user namespace, where the
// launcher may map any range.
bool WriteIdMaps(const Plan& plan, pid_t setup) {
  std::string proc = "/proc/" + std::to_string(setup);
  return WriteFile((proc + "/uid_map").c_str(), plan.id_map.c_str()) &&
         WriteFile((proc + "/gid_map").c_str(), plan.id_map.c_str());
}

void PrintFailure(const Plan& plan, const Report& failure) {
  const char* detail = "";
  if (failure.kind == kJoinCgroup) {
    detail = plan.cgroups[failure.index].c_str();
  } else if (failure.kind == kMakeDevNode) {
    detail = kDeviceNodes[failure.index][0];
  } else if (failure.kind == kExec) {
    detail = plan.argv[0];
  }
  fprintf(stderr, "ctr_init: %s%s%s: %s\n", kStepNames[failure.kind],
          *detail != '\0' ? " " : "", detail, strerror(failure.value));
}

struct SetupOutcome {
  pid_t init = 0;
  bool failed = false;
  Report failure = {};
};

void RecordFailure(const Report& failure, SetupOutcome* outcome) {
  if (!outcome->failed) {
    outcome->failed = true;
    outcome->failure = failure;
  }
}

// Returns 1 for a report, 0 at end-of-file, -1 (with `report` saying why)
// if the pipe cannot be read.
int ReadReport(int report_fd, Report* report) {
  ssize_t n;
  do {
    n = read(report_fd, report, sizeof(*report));
  } while (n < 0 && errno == EINTR);
  if (n == 0) {
    return 0;
  }
  if (n != sizeof(*report) || report->kind < 0 || report->kind > kInitPid) {
    *report = {kReadReport, n < 0 ? errno : EPROTO, 0};
    return -1;
  }
  return 1;
}

// Reads reports until end-of-file, which comes once the setup process has
// exited and the init has exec'd (or exited).  Writes the id maps when the
// setup process asks, then closes `maps_written_fd`: without the byte written
// before, that tells the setup process the maps could not be written.
SetupOutcome CollectReports(const Plan& plan, pid_t setup, int report_fd,
                            int maps_written_fd) {
  SetupOutcome outcome;
  Report report;
  int result;
  while ((result = ReadReport(report_fd, &report)) > 0) {
    if (report.kind == kInitPid) {
      outcome.init = report.value;
    } else if (report.kind != kUserNamespaceReady) {
      RecordFailure(report, &outcome);
    } else if (maps_written_fd >= 0) {
      if (WriteIdMaps(plan, setup)) {
        ssize_t ignored = write(maps_written_fd, "", 1);
        (void)ignored;
      } else {
        RecordFailure({kWriteIdMaps, errno, 0}, &outcome);
      }
      close(maps_written_fd);
      maps_written_fd = -1;
    }
  }
  if (result < 0) {
    RecordFailure(report, &outcome);
  }

  if (maps_written_fd >= 0) {
    close(maps_written_fd);
  }
  return outcome;
}

pid_t WaitFor(pid_t pid, int* status) {
  pid_t result;
  do {
    result = waitpid(pid, status, 0);
  } while (result < 0 && errno == EINTR);
  return result;
}

int ExitCodeOf(int status) {
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return WEXITSTATUS(status);
}

// Starts the container; returns the init's pid, or 0 after printing why not.
pid_t StartContainer(const Plan& plan) {
  int report_pipe[2];
  int maps_pipe[2];
  if (pipe2(report_pipe, O_CLOEXEC) != 0 || pipe2(maps_pipe, O_CLOEXEC) != 0) {
    perror("ctr_init: pipe2");
    return 0;
  }

  pid_t setup = fork();
  if (setup < 0) {
    perror("ctr_init: fork");
    return 0;
  }
  if (setup == 0) {
    close(report_pipe[0]);
    close(maps_pipe[1]);
    RunSetup(plan, report_pipe[1], maps_pipe[0]);
  }
  close(report_pipe[1]);
  close(maps_pipe[0]);

  SetupOutcome outcome =
      CollectReports(plan, setup, report_pipe[0], maps_pipe[1]);
  close(report_pipe[0]);

  int status = 0;
  WaitFor(setup, &status);
  if (outcome.failed) {
    PrintFailure(plan, outcome.failure);
  } else if (status != 0 || outcome.init <= 0) {
    fprintf(stderr, "ctr_init: setup process exited with status %d\n",
            ExitCodeOf(status));
  } else {
    return outcome.init;
  }
  if (outcome.init > 0) {
    WaitFor(outcome.init, &status);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Nothing of the caller's may leak into the container: an inherited
  // directory fd would be a way out of its root.
  close_range(3, ~0U, 0);

  Plan plan;
  if (!ParseArguments(argc, argv, &plan)) {
    Usage();
    return 2;
  }
  CompletePlan(&plan);

  pid_t init = StartContainer(plan);
  if (init == 0) {
    return 1;
  }

  printf("%d\n", static_cast<int>(init));
  fflush(stdout);
  fclose(stdout);

  int status = 0;
  if (WaitFor(init, &status) < 0) {
    perror("ctr_init: waitpid(init)");
    return 1;
  }
  return ExitCodeOf(status);
}
