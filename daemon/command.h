// A program to start in a container, prepared in the daemon as the flat
// arrays execve(2) takes, so that a worker can start it without allocating
// (see worker.h).
//
// The command's environment is exactly `CommandSpec::env`, plus a default
// PATH when it has none; nothing comes from attachd's environment.  Its
// program is looked up in that PATH inside the container, like execvp(3)
// but without falling back to /bin/sh for a file that is not executable
// format.  Its stdin, stdout and stderr are the three descriptors given;
// all others are closed before its first instruction.  It runs in a new
// session (its own process group, for killing the group), with default
// signal dispositions, an empty signal mask, and the descriptor limit
// attachd itself started with.
//
// Credentials.  The worker starts with every capability of the container's
// user namespace (or attachd's own, when the container has none).  Start()
// then changes them in this order, each step needing what the next drops:
//   1. the LSM label to take at execve, written to the worker's own
//      attr/exec file in the container's procfs (refused unless it is a
//      procfs file);
//   2. with `capabilities` set: the bounding set is cut down to
//      `capabilities->bounding` (PR_CAPBSET_DROP needs CAP_SETPCAP), and
//      for a non-zero uid PR_SET_KEEPCAPS keeps the permitted set across
//      the uid change (execve clears the flag again);
//   3. supplementary groups, gid, uid (raw syscalls, see syscalls.h);
//   4. with `capabilities` set: capset(2) to its effective, permitted and
//      inheritable sets, and its ambient set raised.  Sets are cut to what
//      the worker holds: a target may have capabilities attachd lacks
//      (attachd under a unit with a smaller bounding set);
//   5. PR_SET_NO_NEW_PRIVS if `no_new_privs`.
// execve(2) then applies the kernel's rules (capabilities(7)): as uid 0 the
// command's permitted and effective sets become its bounding set (plus
// inheritable and ambient); as another uid they become its ambient set
// plus the program file's capabilities.  CapabilitiesForCommand()
// (credentials.h) chooses the sets; ExecStart.elevated leaves
// `capabilities` unset and `no_new_privs` false, so the command keeps the
// worker's capabilities.
//
// Limitation: no seccomp filter is applied, neither the container's nor
// any other.  Securebits other than KEEP_CAPS are left as the worker has
// them (none), whatever the target's are.

#ifndef ATTACHD_DAEMON_COMMAND_H_
#define ATTACHD_DAEMON_COMMAND_H_

#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/credentials.h"
#include "daemon/lsm.h"
#include "daemon/worker.h"

namespace attachd::daemon {

inline constexpr char kDefaultPath[] =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct CommandSpec {
  std::vector<std::string> argv;
  // "KEY=VALUE" entries.
  std::vector<std::string> env;
  // Resolved inside the container; "/" if empty.
  std::string cwd;
  // As seen in the container's user namespace.
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> supplementary_gids;
  // The capability sets to give the command (see above); unset: keep the
  // worker's.
  std::optional<CapabilitySets> capabilities;
  bool no_new_privs = false;
  // Taken at execve; an empty value takes none.
  ExecLabel lsm_label;
  // Installed as 0, 1, 2.  Owned by the caller, which must keep them open
  // until the command has started.  Must all be >= 3.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // If >= 0: instead of the three above, the command gets a terminal of
  // the container's (terminal.h) of size `window`, whose master is sent
  // over this Unix socket.  Owned by the caller, like the stdio fds.
  int terminal_socket = -1;
  winsize window = {};
  // The RLIMIT_NOFILE the command gets; unchanged if unset.
  std::optional<rlimit> file_limit;
};

// Immutable once created; Start() reads it from a forked copy.
class PreparedCommand {
 public:
  // INVALID_ARGUMENT for an empty argv, an empty program name, an
  // environment entry without '=' or starting with '=', or any string with
  // a NUL byte (the kernel's strings end at NUL).
  static absl::StatusOr<PreparedCommand> Create(CommandSpec spec);

  PreparedCommand(PreparedCommand&&) = default;
  PreparedCommand& operator=(PreparedCommand&&) = default;

  // The WorkerFunction that starts the command; `argument` is a
  // PreparedCommand*.  Async-signal-safe.  Never returns on success; on
  // failure reports the step (kStdio, kCredentials for any step of the
  // credentials above, kCwd or kExec) and returns 127.
  static int Start(const WorkerContext& context, void* argument);

  const CommandSpec& spec() const { return spec_; }

 private:
  explicit PreparedCommand(CommandSpec spec);
  void BuildArrays();

  // Async-signal-safe.  execve()s the program, searching PATH when its
  // name has no '/'; returns the errno that ended the search.
  int ExecProgram() const;

  CommandSpec spec_;
  std::vector<char*> argv_;
  std::vector<char*> envp_;
  // The PATH value searched, and room to build "dir/program" in the worker.
  std::string search_path_;
  mutable std::vector<char> path_buffer_;
};

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_COMMAND_H_
