#include "daemon/credentials.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace attachd::daemon {
namespace {

// The value of "Key:\t..." in /proc/PID/status, or nullopt.
std::optional<absl::string_view> StatusField(absl::string_view status,
                                             absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (absl::ConsumePrefix(&line, key) && absl::ConsumePrefix(&line, ":")) {
      return absl::StripAsciiWhitespace(line);
    }
  }
  return std::nullopt;
}

absl::Status MalformedStatus(absl::string_view key) {
  return absl::InternalError(
      absl::StrCat("malformed /proc/PID/status: no valid ", key, " line"));
}

absl::StatusOr<uint64_t> ParseCapabilityField(absl::string_view status,
                                              absl::string_view key) {
  std::optional<absl::string_view> value = StatusField(status, key);
  uint64_t mask = 0;
  if (!value.has_value() || value->empty() ||
      !absl::SimpleHexAtoi(*value, &mask)) {
    return MalformedStatus(key);
  }
  return mask;
}

// Lines that glibc's files backend does not read as entries.
bool IsSkippedLine(absl::string_view line) {
  return line.empty() || line[0] == '#' || line[0] == '+' || line[0] == '-';
}

}  // namespace

std::optional<uint32_t> ParseId(absl::string_view text) {
  if (text.empty() || text.size() > 10) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : text) {
    if (!absl::ascii_isdigit(c)) {
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  if (value >= std::numeric_limits<uint32_t>::max()) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(value);
}

std::optional<uid_t> UidInsideNamespace(absl::string_view uid_map,
                                        uid_t outside_uid) {
  // Each line: first id inside, first id outside, count.
  for (absl::string_view line : absl::StrSplit(uid_map, '\n')) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    uint64_t inside = 0;
    uint64_t outside = 0;
    uint64_t count = 0;
    if (fields.size() != 3 || !absl::SimpleAtoi(fields[0], &inside) ||
        !absl::SimpleAtoi(fields[1], &outside) ||
        !absl::SimpleAtoi(fields[2], &count)) {
      continue;
    }
    if (outside_uid >= outside && outside_uid - outside < count) {
      return static_cast<uid_t>(inside + (outside_uid - outside));
    }
  }
  return std::nullopt;
}

absl::StatusOr<ProcessCredentials> ParseProcessCredentials(
    absl::string_view status, absl::string_view uid_map) {
  ProcessCredentials credentials;

  // "Uid:\treal\teffective\tsaved\tfilesystem"
  std::optional<absl::string_view> uids = StatusField(status, "Uid");
  std::vector<absl::string_view> fields;
  if (uids.has_value()) {
    fields = absl::StrSplit(*uids, '\t', absl::SkipEmpty());
  }
  uint32_t effective_uid = 0;
  if (fields.size() != 4 || !absl::SimpleAtoi(fields[1], &effective_uid)) {
    return MalformedStatus("Uid");
  }
  credentials.uid = UidInsideNamespace(uid_map, effective_uid);

  const std::pair<const char*, uint64_t*> sets[] = {
      {"CapBnd", &credentials.capabilities.bounding},
      {"CapEff", &credentials.capabilities.effective},
      {"CapPrm", &credentials.capabilities.permitted},
      {"CapInh", &credentials.capabilities.inheritable},
      {"CapAmb", &credentials.capabilities.ambient},
  };
  for (const auto& [key, mask] : sets) {
    absl::StatusOr<uint64_t> parsed = ParseCapabilityField(status, key);
    if (!parsed.ok()) {
      return parsed.status();
    }
    *mask = *parsed;
  }

  std::optional<absl::string_view> no_new_privs =
      StatusField(status, "NoNewPrivs");
  if (!no_new_privs.has_value() ||
      (*no_new_privs != "0" && *no_new_privs != "1")) {
    return MalformedStatus("NoNewPrivs");
  }
  credentials.no_new_privs = *no_new_privs == "1";
  return credentials;
}

CapabilitySets CapabilitiesForCommand(const ProcessCredentials& target,
                                      uid_t command_uid) {
  CapabilitySets sets = target.capabilities;
  bool target_is_root = !target.uid.has_value() || *target.uid == 0;
  if (command_uid != 0 && target_is_root) {
    // A root process's sets are root's privileges, not a grant to other
    // uids: the kernel itself clears them when root changes to another
    // uid (setresuid(2), capabilities(7) "Effect of user ID changes").
    sets.effective = 0;
    sets.permitted = 0;
    sets.ambient = 0;
  }
  return sets;
}

std::vector<PasswdEntry> ParsePasswd(absl::string_view text) {
  std::vector<PasswdEntry> entries;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (IsSkippedLine(line)) {
      continue;
    }

    // name:password:uid:gid:gecos:home:shell
    std::vector<absl::string_view> fields = absl::StrSplit(line, ':');
    if (fields.size() != 7 || fields[0].empty()) {
      continue;
    }
    std::optional<uint32_t> uid = ParseId(fields[2]);
    std::optional<uint32_t> gid = ParseId(fields[3]);
    if (!uid.has_value() || !gid.has_value()) {
      continue;
    }
    entries.push_back(
        {std::string(fields[0]), *uid, *gid, std::string(fields[5])});
  }
  return entries;
}

std::vector<GroupEntry> ParseGroup(absl::string_view text) {
  std::vector<GroupEntry> entries;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (IsSkippedLine(line)) {
      continue;
    }

    // name:password:gid:member,member
    std::vector<absl::string_view> fields = absl::StrSplit(line, ':');
    if (fields.size() != 4 || fields[0].empty()) {
      continue;
    }
    std::optional<uint32_t> gid = ParseId(fields[2]);
    if (!gid.has_value()) {
      continue;
    }
    GroupEntry entry{std::string(fields[0]), *gid, {}};
    for (absl::string_view member :
         absl::StrSplit(fields[3], ',', absl::SkipEmpty())) {
      entry.members.emplace_back(member);
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

namespace {

std::string Quoted(absl::string_view text) {
  return absl::StrCat("\"", absl::CEscape(text), "\"");
}

// The passwd entry `user` names, if any; NOT_FOUND for an unknown name.
absl::StatusOr<std::optional<PasswdEntry>> FindUser(
    absl::string_view user, const UserDatabase& database,
    absl::string_view container) {
  std::vector<PasswdEntry> entries;
  if (database.passwd.has_value()) {
    entries = ParsePasswd(*database.passwd);
  }
  std::optional<uint32_t> uid = ParseId(user);
  for (PasswdEntry& entry : entries) {
    if (uid.has_value() ? entry.uid == *uid : entry.name == user) {
      return std::optional<PasswdEntry>(std::move(entry));
    }
  }
  if (uid.has_value()) {
    return std::optional<PasswdEntry>();
  }
  return absl::NotFoundError(
      absl::StrCat("user ", Quoted(user), " not found in container ", container,
                   database.passwd.has_value() ? "'s /etc/passwd"
                                               : ": it has no /etc/passwd"));
}

absl::StatusOr<gid_t> FindGroup(absl::string_view group,
                                const std::vector<GroupEntry>& entries,
                                bool has_group_file,
                                absl::string_view container) {
  if (std::optional<uint32_t> gid = ParseId(group); gid.has_value()) {
    return *gid;
  }
  for (const GroupEntry& entry : entries) {
    if (entry.name == group) {
      return entry.gid;
    }
  }
  return absl::NotFoundError(absl::StrCat(
      "group ", Quoted(group), " not found in container ", container,
      has_group_file ? "'s /etc/group" : ": it has no /etc/group"));
}

// The gids of the groups whose member list names `user`, in file order,
// each once.
std::vector<gid_t> GroupsListing(const std::string& user,
                                 const std::vector<GroupEntry>& groups) {
  std::vector<gid_t> gids;
  for (const GroupEntry& group : groups) {
    bool listed = std::find(group.members.begin(), group.members.end(), user) !=
                  group.members.end();
    if (listed &&
        std::find(gids.begin(), gids.end(), group.gid) == gids.end()) {
      gids.push_back(group.gid);
    }
  }
  return gids;
}

}  // namespace

absl::StatusOr<ResolvedUser> ResolveUser(absl::string_view user,
                                         const UserDatabase& database,
                                         absl::string_view container) {
  std::vector<absl::string_view> parts = absl::StrSplit(user, ':');
  if (parts.size() > 2 || parts[0].empty() ||
      (parts.size() == 2 && parts[1].empty()) ||
      absl::StrContains(user, '\0')) {
    return absl::InvalidArgumentError(
        absl::StrCat("user ", Quoted(user),
                     " is not USER or USER:GROUP (names or numeric ids)"));
  }

  absl::StatusOr<std::optional<PasswdEntry>> entry =
      FindUser(parts[0], database, container);
  if (!entry.ok()) {
    return entry.status();
  }
  std::vector<GroupEntry> groups;
  if (database.group.has_value()) {
    groups = ParseGroup(*database.group);
  }

  ResolvedUser resolved;
  if (entry->has_value()) {
    resolved.uid = (*entry)->uid;
    resolved.gid = (*entry)->gid;
    resolved.home = (*entry)->home;
    resolved.supplementary_gids = GroupsListing((*entry)->name, groups);
  } else {
    resolved.uid = *ParseId(parts[0]);
  }

  if (parts.size() == 2) {
    absl::StatusOr<gid_t> gid =
        FindGroup(parts[1], groups, database.group.has_value(), container);
    if (!gid.ok()) {
      return gid.status();
    }
    resolved.gid = *gid;
  }
  return resolved;
}

}  // namespace attachd::daemon
