// Credentials of a command, decided in the daemon from what a container
// says about itself: its process's capability sets and no_new_privs flag
// (/proc/PID/status), and its user database (/etc/passwd, /etc/group read
// as files, never through NSS, which would consult the host's).
//
// Everything here parses text the daemon has already read; nothing reads
// a file or touches a process.  All functions are thread-safe and
// allocate; none is async-signal-safe.

#ifndef ATTACHD_DAEMON_CREDENTIALS_H_
#define ATTACHD_DAEMON_CREDENTIALS_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace attachd::daemon {

// A process's capability sets (capabilities(7)), as bit masks: bit N is
// capability N (CAP_CHOWN is bit 0), as /proc/PID/status prints them.
struct CapabilitySets {
  uint64_t bounding = 0;
  uint64_t effective = 0;
  uint64_t permitted = 0;
  uint64_t inheritable = 0;
  uint64_t ambient = 0;

  bool operator==(const CapabilitySets& other) const {
    return bounding == other.bounding && effective == other.effective &&
           permitted == other.permitted && inheritable == other.inheritable &&
           ambient == other.ambient;
  }
};

// What /proc/PID/status and /proc/PID/uid_map say about a process.
struct ProcessCredentials {
  // Its effective uid as seen in its own user namespace; nullopt when that
  // uid has no mapping there (the overflow uid).
  std::optional<uid_t> uid;
  CapabilitySets capabilities;
  bool no_new_privs = false;
};

// Parses the text of /proc/PID/status (its Uid, CapInh, CapPrm, CapEff,
// CapBnd, CapAmb and NoNewPrivs lines) and of /proc/PID/uid_map, both as
// read by a process of the host's user namespace.  INTERNAL if a line is
// missing or malformed: the kernel wrote both.
absl::StatusOr<ProcessCredentials> ParseProcessCredentials(
    absl::string_view status, absl::string_view uid_map);

// The uid that `outside_uid` (a uid of the reader's user namespace) is
// inside the namespace whose uid_map is `uid_map`; nullopt if unmapped.
std::optional<uid_t> UidInsideNamespace(absl::string_view uid_map,
                                        uid_t outside_uid);

// The capability sets a command running as `command_uid` (in the
// container's user namespace) is given before its execve, by default
// (ExecStart.elevated unset).  The rule:
//   - bounding, inheritable: the target's;
//   - effective, permitted, ambient: the target's, except when the command
//     is not root and the target runs as root (or as an unmapped uid):
//     then all three are empty, as `docker exec -u 1000` into a container
//     whose process runs as root leaves CapEff 0.
// execve(2) then transforms them by the kernel's rules (capabilities(7)):
// a root command ends with permitted = effective = its bounding set (plus
// inheritable and ambient); a non-root command with its ambient set plus
// the file capabilities of the program.  So the command gets what the
// target process would pass on to a program it exec'd as the same uid.
CapabilitySets CapabilitiesForCommand(const ProcessCredentials& target,
                                      uid_t command_uid);

// One well-formed line of /etc/passwd.
struct PasswdEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};

// One well-formed line of /etc/group.
struct GroupEntry {
  std::string name;
  gid_t gid = 0;
  std::vector<std::string> members;
};

// Parse passwd(5) and group(5) text.  Lines are kept in file order; blank
// lines, comments (a '#' first), NIS compat lines ('+' or '-' first) and
// malformed lines (wrong field count, an empty name, an id that is not a
// decimal number below 2^32 - 1) are skipped, as glibc's files backend
// skips them.  Lines may be of any length.
std::vector<PasswdEntry> ParsePasswd(absl::string_view text);
std::vector<GroupEntry> ParseGroup(absl::string_view text);

// Who ExecStart.user names, resolved in one container's user database.
struct ResolvedUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> supplementary_gids;
  // The passwd entry's home directory, if the user has an entry.
  std::optional<std::string> home;
};

// A container's /etc/passwd and /etc/group texts; nullopt for a file the
// container does not have.
struct UserDatabase {
  std::optional<std::string> passwd;
  std::optional<std::string> group;
};

// Resolves `user`: "USER" or "USER:GROUP", each a name or a decimal id.
//   - USER: a name must have a passwd entry (the first with that name); a
//     number is that uid, with the first entry of that uid if any.
//   - gid: GROUP's (a name must have a group entry; a number is that gid),
//     else the passwd entry's, else 0.
//   - supplementary gids: every group whose member list names the user
//     (file order, without duplicates); none for a uid without an entry.
//     The primary gid is not added, as with docker and runc.
//   - home: the passwd entry's home directory.
// `container` names the container in messages.  INVALID_ARGUMENT for an
// empty part, more than one ':' or a NUL byte; NOT_FOUND ("user \"bob\"
// not found in container web's /etc/passwd") for an unknown name.
absl::StatusOr<ResolvedUser> ResolveUser(absl::string_view user,
                                         const UserDatabase& database,
                                         absl::string_view container);

// Parses a decimal id: digits only, below 2^32 - 1 ((uid_t) -1 means "no
// id" to the kernel).
std::optional<uint32_t> ParseId(absl::string_view text);

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_CREDENTIALS_H_
