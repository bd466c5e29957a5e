#include "tests/test_container.h"

#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

extern char** environ;

// Returns the status of `expr` from the calling function unless it is OK.
// Defined here so that the test library depends on none of the daemon's code.
#define RETURN_IF_ERROR(expr)                \
  do {                                       \
    absl::Status status_for_return = (expr); \
    if (!status_for_return.ok()) {           \
      return status_for_return;              \
    }                                        \
  } while (false)

namespace attachd::testing {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(10);
constexpr absl::Duration kStopTimeout = absl::Seconds(10);

// The v1 hierarchies a container's cgroup is made in, first mounted wins.
constexpr absl::string_view kCgroup1Controllers[] = {"pids", "memory"};

constexpr char kPasswd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "app:x:1000:1000:app:/tmp:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
constexpr char kGroup[] =
    "root:x:0:\n"
    "app:x:1000:\n"
    "nogroup:x:65534:\n";

// Closes the fd it owns.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~UniqueFd() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

absl::Status ErrnoStatus(absl::string_view what) {
  return absl::ErrnoToStatus(errno, what);
}

absl::StatusOr<UniqueFd> PidfdOpen(pid_t pid) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    return ErrnoStatus(absl::StrCat("pidfd_open(", pid, ")"));
  }
  return UniqueFd(fd);
}

absl::StatusOr<UniqueFd> MemoryFile(const char* name) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) {
    return ErrnoStatus(absl::StrCat("memfd_create(", name, ")"));
  }
  return UniqueFd(fd);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return ErrnoStatus(absl::StrCat("open ", path));
  }
  std::string content;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd.get(), buffer, sizeof(buffer))) != 0) {
    if (n < 0 && errno != EINTR) {
      return ErrnoStatus(absl::StrCat("read ", path));
    }
    content.append(buffer, n > 0 ? n : 0);
  }
  return content;
}

absl::Status WriteFile(const std::string& path, absl::string_view content,
                       mode_t mode) {
  UniqueFd fd(
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (fd.get() < 0) {
    return ErrnoStatus(absl::StrCat("open ", path));
  }
  if (write(fd.get(), content.data(), content.size()) !=
      static_cast<ssize_t>(content.size())) {
    return ErrnoStatus(absl::StrCat("write ", path));
  }
  if (fchmod(fd.get(), mode) != 0) {
    return ErrnoStatus(absl::StrCat("fchmod ", path));
  }
  return absl::OkStatus();
}

// Everything in `fd` from offset 0, whatever its file position.
std::string ReadFromStart(int fd) {
  std::string content;
  char buffer[4096];
  ssize_t n;
  while ((n = pread(fd, buffer, sizeof(buffer), content.size())) > 0) {
    content.append(buffer, n);
  }
  return content;
}

// Waits until `fd` is readable (a pidfd: its process has exited).  Returns
// false if `deadline` passes first.
absl::StatusOr<bool> WaitReadable(int fd, absl::Time deadline) {
  while (true) {
    absl::Duration left = deadline - absl::Now();
    struct pollfd poll_fd = {fd, POLLIN, 0};
    int ready = poll(&poll_fd, 1,
                     left <= absl::ZeroDuration()
                         ? 0
                         : static_cast<int>(absl::ToInt64Milliseconds(left)));
    if (ready > 0) {
      return true;
    }
    if (ready == 0 && absl::Now() >= deadline) {
      return false;
    }
    if (ready < 0 && errno != EINTR) {
      return ErrnoStatus("poll");
    }
  }
}

int ExitCodeOf(int status) {
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return WEXITSTATUS(status);
}

absl::StatusOr<int> Reap(pid_t pid) {
  int status = 0;
  pid_t result;
  do {
    result = waitpid(pid, &status, 0);
  } while (result < 0 && errno == EINTR);
  if (result < 0) {
    return ErrnoStatus(absl::StrCat("waitpid(", pid, ")"));
  }
  return ExitCodeOf(status);
}

// Starts `argv` (argv[0] looked up in PATH) with stdin from /dev/null and
// the given stdout and stderr.  The child gets default signal dispositions
// and an empty signal mask, whatever this process (gRPC ignores SIGPIPE)
// has set.  posix_spawn runs nothing in the child that is not
// async-signal-safe.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, int stdout_fd,
                            int stderr_fd) {
  std::vector<char*> args;
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stderr_fd, STDERR_FILENO);

  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  sigset_t all_signals;
  sigfillset(&all_signals);
  posix_spawnattr_setsigdefault(&attributes, &all_signals);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = 0;
  int error =
      posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    return absl::ErrnoToStatus(error, absl::StrCat("posix_spawnp ", argv[0]));
  }
  return pid;
}

absl::Status MakeDirectory(const std::string& path, mode_t mode) {
  if (mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return ErrnoStatus(absl::StrCat("mkdir ", path));
  }
  // mkdir's mode is filtered through the umask.
  if (chmod(path.c_str(), mode) != 0) {
    return ErrnoStatus(absl::StrCat("chmod ", path));
  }
  return absl::OkStatus();
}

absl::Status MakeSymlink(const std::string& target, const std::string& path) {
  if (symlink(target.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    return ErrnoStatus(absl::StrCat("symlink ", path, " -> ", target));
  }
  return absl::OkStatus();
}

absl::Status CopyExecutable(const std::string& from, const std::string& to) {
  UniqueFd source(open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (source.get() < 0) {
    return ErrnoStatus(absl::StrCat("open ", from));
  }
  UniqueFd target(
      open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755));
  if (target.get() < 0) {
    return ErrnoStatus(absl::StrCat("open ", to));
  }

  char buffer[65536];
  ssize_t n;
  while ((n = read(source.get(), buffer, sizeof(buffer))) > 0) {
    if (write(target.get(), buffer, n) != n) {
      return ErrnoStatus(absl::StrCat("write ", to));
    }
  }
  if (n < 0) {
    return ErrnoStatus(absl::StrCat("read ", from));
  }
  if (fchmod(target.get(), 0755) != 0) {
    return ErrnoStatus(absl::StrCat("fchmod ", to));
  }
  return absl::OkStatus();
}

absl::Status LinkBusyboxApplets(const std::string& dir) {
  absl::StatusOr<std::string> applets = RunCommand({"/bin/busybox", "--list"});
  if (!applets.ok()) {
    return applets.status();
  }
  for (absl::string_view applet :
       absl::StrSplit(*applets, '\n', absl::SkipWhitespace())) {
    applet = absl::StripAsciiWhitespace(applet);
    if (applet == "busybox" || applet == "." || applet == ".." ||
        absl::StrContains(applet, '/')) {
      continue;
    }
    absl::Status linked =
        MakeSymlink("busybox", absl::StrCat(dir, "/bin/", applet));
    if (!linked.ok()) {
      return linked;
    }
  }
  return absl::OkStatus();
}

// Set by BusyboxRootfs; the directory is removed when that process exits,
// not when a forked child of it does.
const std::string* shared_rootfs = nullptr;
pid_t shared_rootfs_owner = 0;

void RemoveSharedRootfs() {
  if (shared_rootfs != nullptr && getpid() == shared_rootfs_owner) {
    RemoveTree(*shared_rootfs).IgnoreError();
  }
}

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) {
  return remove(path) == 0 ? 0 : errno;
}

bool IsExecutable(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         access(path.c_str(), X_OK) == 0;
}

std::string ExecutablePath() {
  char buffer[4096];
  ssize_t n = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  return n > 0 ? std::string(buffer, n) : std::string();
}

// A cgroup hierarchy as mounted in this process's mount namespace.
struct CgroupMount {
  // The hierarchy's directory that is mounted (field 4 of mountinfo).
  std::string root;
  std::string mount_point;
  bool cgroup2 = false;
  std::vector<std::string> super_options;
};

bool IsOctalDigit(char c) { return c >= '0' && c <= '7'; }

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string UnescapeMountinfo(absl::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() &&
        IsOctalDigit(field[i + 1]) && IsOctalDigit(field[i + 2]) &&
        IsOctalDigit(field[i + 3])) {
      out.push_back(static_cast<char>((field[i + 1] - '0') * 64 +
                                      (field[i + 2] - '0') * 8 +
                                      (field[i + 3] - '0')));
      i += 3;
      continue;
    }
    out.push_back(field[i]);
  }
  return out;
}

// Parses one /proc/self/mountinfo line; false if it is not a cgroup mount.
bool ParseCgroupMount(absl::string_view line, CgroupMount* mount) {
  std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
  size_t separator = 6;
  while (separator < fields.size() && fields[separator] != "-") {
    ++separator;
  }
  if (separator + 3 >= fields.size()) {
    return false;
  }
  absl::string_view type = fields[separator + 1];
  if (type != "cgroup" && type != "cgroup2") {
    return false;
  }
  mount->root = UnescapeMountinfo(fields[3]);
  mount->mount_point = UnescapeMountinfo(fields[4]);
  mount->cgroup2 = type == "cgroup2";
  mount->super_options = absl::StrSplit(fields[separator + 3], ',');
  return true;
}

absl::StatusOr<std::vector<CgroupMount>> ReadCgroupMounts() {
  absl::StatusOr<std::string> mountinfo = ReadFile("/proc/self/mountinfo");
  if (!mountinfo.ok()) {
    return mountinfo.status();
  }
  std::vector<CgroupMount> mounts;
  for (absl::string_view line :
       absl::StrSplit(*mountinfo, '\n', absl::SkipEmpty())) {
    CgroupMount mount;
    if (ParseCgroupMount(line, &mount)) {
      mounts.push_back(std::move(mount));
    }
  }
  return mounts;
}

// This process's cgroup in the hierarchy of `controller` ("" for cgroup2),
// from /proc/self/cgroup.
absl::StatusOr<std::string> OwnCgroupPath(absl::string_view controller) {
  absl::StatusOr<std::string> cgroups = ReadFile("/proc/self/cgroup");
  if (!cgroups.ok()) {
    return cgroups.status();
  }
  for (absl::string_view line :
       absl::StrSplit(*cgroups, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3) {
      continue;
    }
    std::vector<absl::string_view> controllers =
        absl::StrSplit(fields[1], ',', absl::SkipEmpty());
    bool match = controller.empty()
                     ? fields[0] == "0" && controllers.empty()
                     : absl::c_linear_search(controllers, controller);
    if (match) {
      return std::string(fields[2]);
    }
  }
  return absl::NotFoundError(
      absl::StrCat("no \"", controller, "\" hierarchy in /proc/self/cgroup"));
}

// Where cgroup `path` (as /proc/PID/cgroup shows it) is in `mount`.
absl::StatusOr<std::string> HostDirectory(const CgroupMount& mount,
                                          const std::string& path) {
  std::string relative = path;
  if (mount.root != "/") {
    if (path != mount.root && !absl::StartsWith(path, mount.root + "/")) {
      return absl::FailedPreconditionError(
          absl::StrCat("cgroup ", path, " is outside the hierarchy mounted at ",
                       mount.mount_point, " (root ", mount.root, ")"));
    }
    relative = path.substr(mount.root.size());
  }
  if (relative.empty() || relative == "/") {
    return mount.mount_point;
  }
  return mount.mount_point + relative;
}

// Makes <own cgroup>/attachd-test/<name> in the hierarchy of `controller`.
absl::StatusOr<ContainerCgroup> MakeCgroup(const CgroupMount& mount,
                                           absl::string_view controller,
                                           absl::string_view name) {
  absl::StatusOr<std::string> own = OwnCgroupPath(controller);
  if (!own.ok()) {
    return own.status();
  }
  std::string parent = absl::StrCat(*own == "/" ? "" : *own, "/attachd-test");
  absl::StatusOr<std::string> parent_directory = HostDirectory(mount, parent);
  if (!parent_directory.ok()) {
    return parent_directory.status();
  }

  if (mkdir(parent_directory->c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoStatus(absl::StrCat("mkdir ", *parent_directory));
  }
  ContainerCgroup cgroup{std::string(controller),
                         absl::StrCat(parent, "/", name),
                         absl::StrCat(*parent_directory, "/", name)};
  if (mkdir(cgroup.directory.c_str(), 0755) != 0) {
    return ErrnoStatus(absl::StrCat("mkdir ", cgroup.directory));
  }
  return cgroup;
}

// Removes a container's cgroup once its last process is gone, and the
// shared parent if no other container uses it.
void RemoveCgroup(const ContainerCgroup& cgroup) {
  // The kernel may count the pid namespace's last processes for a moment
  // after the launcher has reaped the init.
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (rmdir(cgroup.directory.c_str()) == 0 || errno != EBUSY) {
      break;
    }
    usleep(10000);
  }
  std::string parent = cgroup.directory.substr(0, cgroup.directory.rfind('/'));
  rmdir(parent.c_str());
}

std::vector<std::string> LauncherArguments(
    const TestContainerOptions& options, const std::string& ctr_init,
    const std::string& rootfs, const std::vector<ContainerCgroup>& cgroups) {
  std::vector<std::string> argv = {ctr_init, "--rootfs", rootfs};
  for (const ContainerCgroup& cgroup : cgroups) {
    argv.insert(argv.end(), {"--cgroup", cgroup.directory});
  }
  if (options.user_namespace) {
    argv.insert(argv.end(), {"--uid-base", absl::StrCat(options.uid_base)});
  } else {
    argv.push_back("--no-userns");
  }
  if (!options.hostname.empty()) {
    argv.insert(argv.end(), {"--hostname", options.hostname});
  }
  if (options.time_offset_seconds.has_value()) {
    argv.insert(argv.end(),
                {"--time-offset", absl::StrCat(*options.time_offset_seconds)});
  }
  if (!options.command.empty()) {
    argv.push_back("--");
    argv.insert(argv.end(), options.command.begin(), options.command.end());
  }
  return argv;
}

// Reads up to the first newline or end-of-file.  DEADLINE_EXCEEDED if
// neither comes by `deadline`.
absl::StatusOr<std::string> ReadLine(int fd, absl::Time deadline) {
  std::string line;
  while (!absl::StrContains(line, '\n')) {
    absl::StatusOr<bool> readable = WaitReadable(fd, deadline);
    if (!readable.ok()) {
      return readable.status();
    }
    if (!*readable) {
      return absl::DeadlineExceededError("timed out waiting for ctr_init");
    }
    char buffer[64];
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n == 0) {
      break;
    }
    if (n < 0 && errno != EINTR) {
      return ErrnoStatus("read ctr_init's stdout");
    }
    line.append(buffer, n > 0 ? n : 0);
  }
  return line.substr(0, line.find('\n'));
}

absl::StatusOr<pid_t> ParentPid(pid_t pid) {
  absl::StatusOr<std::string> status =
      ReadFile(absl::StrCat("/proc/", pid, "/status"));
  if (!status.ok()) {
    return status.status();
  }
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    pid_t parent = 0;
    if (absl::ConsumePrefix(&line, "PPid:") &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &parent)) {
      return parent;
    }
  }
  return absl::InternalError(absl::StrCat("no PPid in /proc/", pid, "/status"));
}

std::atomic<int> container_count{0};

}  // namespace

absl::StatusOr<std::string> MakeBusyboxRootfs(const std::string& dir) {
  RETURN_IF_ERROR(MakeDirectory(dir, 0755));
  for (const char* sub : {"bin", "etc", "proc", "dev", "sys", "root", "usr"}) {
    RETURN_IF_ERROR(MakeDirectory(absl::StrCat(dir, "/", sub), 0755));
  }
  RETURN_IF_ERROR(MakeDirectory(dir + "/tmp", 01777));

  RETURN_IF_ERROR(CopyExecutable("/bin/busybox", dir + "/bin/busybox"));
  RETURN_IF_ERROR(LinkBusyboxApplets(dir));
  RETURN_IF_ERROR(MakeSymlink("bin", dir + "/sbin"));
  RETURN_IF_ERROR(MakeSymlink("../bin", dir + "/usr/bin"));
  RETURN_IF_ERROR(MakeSymlink("../bin", dir + "/usr/sbin"));

  RETURN_IF_ERROR(WriteFile(dir + "/etc/passwd", kPasswd, 0644));
  RETURN_IF_ERROR(WriteFile(dir + "/etc/group", kGroup, 0644));
  return dir;
}

const std::string& BusyboxRootfs() {
  static const std::string* const rootfs = [] {
    // Under /tmp rather than $TEST_TMPDIR: the container's root (host uid
    // 100000) must be able to reach it, and Bazel's output tree is in /root.
    char path[] = "/tmp/attachd-rootfs-XXXXXX";
    if (mkdtemp(path) == nullptr) {
      perror("BusyboxRootfs: mkdtemp");
      abort();
    }
    absl::StatusOr<std::string> made = MakeBusyboxRootfs(path);
    if (!made.ok()) {
      fprintf(stderr, "BusyboxRootfs: %s\n", made.status().ToString().c_str());
      abort();
    }
    shared_rootfs = new std::string(*made);
    shared_rootfs_owner = getpid();
    atexit(RemoveSharedRootfs);
    return shared_rootfs;
  }();
  return *rootfs;
}

absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv,
                                       absl::Duration timeout) {
  absl::StatusOr<UniqueFd> out = MemoryFile("stdout");
  absl::StatusOr<UniqueFd> err = MemoryFile("stderr");
  if (!out.ok() || !err.ok()) {
    return out.ok() ? err.status() : out.status();
  }
  absl::StatusOr<pid_t> pid = Spawn(argv, out->get(), err->get());
  if (!pid.ok()) {
    return pid.status();
  }

  // The pid is this process's unreaped child, so it cannot be reused.
  absl::StatusOr<UniqueFd> pidfd = PidfdOpen(*pid);
  absl::StatusOr<bool> exited =
      pidfd.ok() ? WaitReadable(pidfd->get(), absl::Now() + timeout)
                 : absl::StatusOr<bool>(pidfd.status());
  if (!exited.ok() || !*exited) {
    kill(*pid, SIGKILL);
  }
  absl::StatusOr<int> code = Reap(*pid);

  std::string command = absl::StrJoin(argv, " ");
  if (!exited.ok() || !code.ok()) {
    return exited.ok() ? code.status() : exited.status();
  }
  if (!*exited) {
    return absl::DeadlineExceededError(absl::StrCat(
        "`", command, "` ran longer than ", absl::FormatDuration(timeout)));
  }
  if (*code != 0) {
    return absl::UnknownError(absl::StrCat("`", command, "` exited with ",
                                           *code, ": ",
                                           ReadFromStart(err->get())));
  }
  return ReadFromStart(out->get());
}

absl::Status RemoveTree(const std::string& path) {
  int result =
      nftw(path.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (result == -1 && errno != ENOENT) {
    return ErrnoStatus(absl::StrCat("nftw ", path));
  }
  if (result > 0) {
    return absl::ErrnoToStatus(result, absl::StrCat("remove under ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CtrInitPath() {
  std::vector<std::string> candidates;
  const char* workspace = getenv("TEST_WORKSPACE");
  std::string in_runfiles = absl::StrCat(
      "/", workspace != nullptr ? workspace : "attachd", "/tests/ctr_init");
  for (const char* variable : {"TEST_SRCDIR", "RUNFILES_DIR"}) {
    if (const char* dir = getenv(variable); dir != nullptr) {
      candidates.push_back(dir + in_runfiles);
    }
  }
  std::string executable = ExecutablePath();
  if (!executable.empty()) {
    candidates.push_back(executable + ".runfiles" + in_runfiles);
    candidates.push_back(executable.substr(0, executable.rfind('/') + 1) +
                         "ctr_init");
  }

  for (const std::string& candidate : candidates) {
    if (IsExecutable(candidate)) {
      return candidate;
    }
  }
  return absl::NotFoundError(
      absl::StrCat("ctr_init not found (add data = [\"//tests:ctr_init\"]); "
                   "tried: ",
                   absl::StrJoin(candidates, ", ")));
}

absl::StatusOr<ino_t> NamespaceInodeOf(pid_t pid, absl::string_view type) {
  std::string path = absl::StrCat("/proc/", pid, "/ns/", type);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return ErrnoStatus(absl::StrCat("stat ", path));
  }
  return st.st_ino;
}

absl::StatusOr<TestContainer> TestContainer::Start(
    const TestContainerOptions& options) {
  std::string ctr_init = options.ctr_init_path;
  if (ctr_init.empty()) {
    absl::StatusOr<std::string> found = CtrInitPath();
    if (!found.ok()) {
      return found.status();
    }
    ctr_init = *found;
  }

  // Whatever is made before a failure is undone by the destructor.
  TestContainer container;
  if (options.create_cgroups) {
    absl::Status made = container.MakeCgroups();
    if (!made.ok()) {
      return made;
    }
  }
  absl::Status launched = container.Launch(options, ctr_init);
  if (!launched.ok()) {
    return launched;
  }
  return container;
}

TestContainer::TestContainer(TestContainer&& other) noexcept {
  *this = std::move(other);
}

TestContainer& TestContainer::operator=(TestContainer&& other) noexcept {
  if (this != &other) {
    Destroy();
    pid_ = std::exchange(other.pid_, 0);
    pidfd_ = std::exchange(other.pidfd_, -1);
    launcher_pid_ = std::exchange(other.launcher_pid_, 0);
    launcher_pidfd_ = std::exchange(other.launcher_pidfd_, -1);
    exit_code_ = std::exchange(other.exit_code_, std::nullopt);
    output_fd_ = std::exchange(other.output_fd_, -1);
    cgroups_ = std::exchange(other.cgroups_, {});
  }
  return *this;
}

TestContainer::~TestContainer() { Destroy(); }

absl::Status TestContainer::Kill(int signal) {
  if (syscall(SYS_pidfd_send_signal, pidfd_, signal, nullptr, 0) != 0) {
    return ErrnoStatus(absl::StrCat("pidfd_send_signal(init ", pid_, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> TestContainer::WaitExited(absl::Duration timeout) {
  if (exit_code_.has_value()) {
    return *exit_code_;
  }
  if (launcher_pidfd_ < 0) {
    return absl::FailedPreconditionError("no launcher to wait for");
  }
  absl::StatusOr<bool> exited =
      WaitReadable(launcher_pidfd_, absl::Now() + timeout);
  if (!exited.ok()) {
    return exited.status();
  }
  if (!*exited) {
    return absl::DeadlineExceededError(
        absl::StrCat("launcher ", launcher_pid_, " still running after ",
                     absl::FormatDuration(timeout)));
  }
  absl::StatusOr<int> code = Reap(launcher_pid_);
  if (code.ok()) {
    exit_code_ = *code;
  }
  return code;
}

absl::StatusOr<ino_t> TestContainer::NamespaceInode(
    absl::string_view type) const {
  return NamespaceInodeOf(pid_, type);
}

std::string TestContainer::Output() const {
  return output_fd_ >= 0 ? ReadFromStart(output_fd_) : std::string();
}

std::string TestContainer::cgroup2_path() const {
  for (const ContainerCgroup& cgroup : cgroups_) {
    if (cgroup.controller.empty()) {
      return cgroup.directory;
    }
  }
  return "";
}

std::vector<std::string> TestContainer::cgroup1_paths() const {
  std::vector<std::string> paths;
  for (const ContainerCgroup& cgroup : cgroups_) {
    if (!cgroup.controller.empty()) {
      paths.push_back(cgroup.directory);
    }
  }
  return paths;
}

absl::Status TestContainer::MakeCgroups() {
  absl::StatusOr<std::vector<CgroupMount>> mounts = ReadCgroupMounts();
  if (!mounts.ok()) {
    return mounts.status();
  }
  std::string name = absl::StrCat(getpid(), "-", ++container_count);

  std::vector<std::pair<const CgroupMount*, absl::string_view>> chosen;
  for (const CgroupMount& mount : *mounts) {
    if (mount.cgroup2) {
      chosen.emplace_back(&mount, "");
      break;
    }
  }
  for (absl::string_view controller : kCgroup1Controllers) {
    auto it = absl::c_find_if(*mounts, [&](const CgroupMount& mount) {
      return !mount.cgroup2 && absl::c_linear_search(mount.super_options,
                                                     std::string(controller));
    });
    if (it != mounts->end()) {
      chosen.emplace_back(&*it, controller);
      break;
    }
  }
  if (chosen.empty()) {
    return absl::FailedPreconditionError("no cgroup hierarchy is mounted");
  }

  for (const auto& [mount, controller] : chosen) {
    absl::StatusOr<ContainerCgroup> cgroup =
        MakeCgroup(*mount, controller, name);
    if (!cgroup.ok()) {
      return cgroup.status();
    }
    cgroups_.push_back(*std::move(cgroup));
  }
  return absl::OkStatus();
}

absl::Status TestContainer::Launch(const TestContainerOptions& options,
                                   const std::string& ctr_init) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return ErrnoStatus("pipe2");
  }
  UniqueFd pid_reader(pipe_fds[0]);
  UniqueFd pid_writer(pipe_fds[1]);
  absl::StatusOr<UniqueFd> output = MemoryFile("ctr_init-output");
  if (!output.ok()) {
    return output.status();
  }
  output_fd_ = output->release();

  const std::string& rootfs =
      options.rootfs.empty() ? BusyboxRootfs() : options.rootfs;
  absl::StatusOr<pid_t> launcher =
      Spawn(LauncherArguments(options, ctr_init, rootfs, cgroups_),
            pid_writer.get(), output_fd_);
  if (!launcher.ok()) {
    return launcher.status();
  }
  launcher_pid_ = *launcher;
  pid_writer = UniqueFd();
  absl::StatusOr<UniqueFd> launcher_pidfd = PidfdOpen(launcher_pid_);
  if (!launcher_pidfd.ok()) {
    return launcher_pidfd.status();
  }
  launcher_pidfd_ = launcher_pidfd->release();

  return ReceiveInitPid(pid_reader.get());
}

absl::Status TestContainer::ReceiveInitPid(int pid_reader) {
  absl::StatusOr<std::string> line =
      ReadLine(pid_reader, absl::Now() + kStartTimeout);
  if (!line.ok()) {
    return absl::Status(
        line.status().code(),
        absl::StrCat(line.status().message(), "; output: ", Output()));
  }

  // Without a pid line, ctr_init failed and said why on its stderr.
  pid_t pid = 0;
  if (!absl::SimpleAtoi(*line, &pid) || pid <= 0) {
    absl::StatusOr<int> code = WaitExited(kStopTimeout);
    return absl::FailedPreconditionError(absl::StrCat(
        "ctr_init failed (exit ", code.ok() ? absl::StrCat(*code) : "unknown",
        "): ", Output()));
  }
  return AdoptInit(pid);
}

// Takes a pidfd for the init and checks that it is the launcher's child:
// if the init had died and been reaped, its pid might name another process.
absl::Status TestContainer::AdoptInit(pid_t pid) {
  absl::StatusOr<UniqueFd> pidfd = PidfdOpen(pid);
  if (!pidfd.ok()) {
    return pidfd.status();
  }
  pid_ = pid;
  pidfd_ = pidfd->release();

  absl::StatusOr<pid_t> parent = ParentPid(pid);
  if (!parent.ok()) {
    return parent.status();
  }
  absl::StatusOr<bool> exited = WaitReadable(pidfd_, absl::Now());
  if (!exited.ok()) {
    return exited.status();
  }
  if (*parent != launcher_pid_ || *exited) {
    return absl::FailedPreconditionError(absl::StrCat(
        "container init ", pid, " exited during start; output: ", Output()));
  }
  return absl::OkStatus();
}

void TestContainer::Destroy() {
  if (launcher_pid_ > 0 && !exit_code_.has_value()) {
    // Killing the init kills every process of its pid namespace; the
    // launcher then reaps it and exits.
    if (pidfd_ >= 0) {
      Kill(SIGKILL).IgnoreError();
    }
    if (!WaitExited(kStopTimeout).ok()) {
      kill(launcher_pid_, SIGKILL);
      Reap(launcher_pid_).IgnoreError();
    }
  }

  for (int* fd : {&pidfd_, &launcher_pidfd_, &output_fd_}) {
    if (*fd >= 0) {
      close(*fd);
      *fd = -1;
    }
  }
  for (const ContainerCgroup& cgroup : cgroups_) {
    RemoveCgroup(cgroup);
  }
  cgroups_.clear();
  pid_ = 0;
  launcher_pid_ = 0;
}

}  // namespace attachd::testing
