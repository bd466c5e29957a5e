#include "daemon/credentials.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attachd::daemon {
namespace {

using ::testing::ElementsAre;

// /proc/PID/status of a runc container's init (runc 1.1 default config),
// trimmed to the lines that matter and a few around them.
constexpr char kRuncInitStatus[] =
    "Name:\tsleep\n"
    "Umask:\t0022\n"
    "State:\tS (sleeping)\n"
    "Uid:\t0\t0\t0\t0\n"
    "Gid:\t0\t0\t0\t0\n"
    "CapInh:\t0000000000000000\n"
    "CapPrm:\t0000000020000420\n"
    "CapEff:\t0000000020000420\n"
    "CapBnd:\t0000000020000420\n"
    "CapAmb:\t0000000000000000\n"
    "NoNewPrivs:\t1\n"
    "Seccomp:\t0\n";

constexpr char kIdentityMap[] = "         0          0 4294967295\n";

TEST(ParseProcessCredentials, ReadsEverySetTheUidAndNoNewPrivs) {
  absl::StatusOr<ProcessCredentials> parsed =
      ParseProcessCredentials(kRuncInitStatus, kIdentityMap);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->uid, 0u);
  EXPECT_EQ(parsed->capabilities.bounding, 0x20000420u);
  EXPECT_EQ(parsed->capabilities.effective, 0x20000420u);
  EXPECT_EQ(parsed->capabilities.permitted, 0x20000420u);
  EXPECT_EQ(parsed->capabilities.inheritable, 0u);
  EXPECT_EQ(parsed->capabilities.ambient, 0u);
  EXPECT_TRUE(parsed->no_new_privs);
}

TEST(ParseProcessCredentials, UidIsTranslatedIntoTheProcesssUserNamespace) {
  std::string status = kRuncInitStatus;
  status.replace(status.find("Uid:\t0\t0\t0\t0"), 12,
                 "Uid:\t100000\t101000\t100000\t100000");
  absl::StatusOr<ProcessCredentials> parsed =
      ParseProcessCredentials(status, "0 100000 65536\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->uid, 1000u);

  parsed = ParseProcessCredentials(status, "0 200000 65536\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->uid, std::nullopt);
}

TEST(ParseProcessCredentials, MissingOrMalformedLinesAreInternal) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"CapBnd:\t0000000020000420\n", ""},
      {"CapEff:\t0000000020000420\n", "CapEff:\tzz\n"},
      {"NoNewPrivs:\t1\n", "NoNewPrivs:\t2\n"},
      {"Uid:\t0\t0\t0\t0\n", "Uid:\t0\n"},
  };
  for (const auto& [from, to] : cases) {
    SCOPED_TRACE(from);
    std::string status = kRuncInitStatus;
    status.replace(status.find(from), from.size(), to);
    absl::StatusOr<ProcessCredentials> parsed =
        ParseProcessCredentials(status, kIdentityMap);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInternal);
  }
}

TEST(UidInsideNamespace, MapsEachRangeAndNothingOutside) {
  constexpr char kMap[] =
      "         0     100000       1000\n"
      "      1000       5000         10\n";
  struct Case {
    uid_t outside;
    std::optional<uid_t> inside;
  };
  const Case cases[] = {
      {100000, 0},  {100999, 999},        {101000, std::nullopt}, {5000, 1000},
      {5009, 1009}, {5010, std::nullopt}, {0, std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.outside);
    EXPECT_EQ(UidInsideNamespace(kMap, c.outside), c.inside);
  }
}

TEST(CapabilitiesForCommand, FollowsTheRootnessOfTargetAndCommand) {
  const CapabilitySets sets = {/*bounding=*/0xff, /*effective=*/0x0f,
                               /*permitted=*/0x1f, /*inheritable=*/0x03,
                               /*ambient=*/0x01};
  const CapabilitySets emptied = {0xff, 0, 0, 0x03, 0};
  struct Case {
    const char* name;
    std::optional<uid_t> target_uid;
    uid_t command_uid;
    CapabilitySets expected;
  };
  const Case cases[] = {
      {"root into root", 0, 0, sets},
      {"user into root", 0, 1000, emptied},
      {"user into unmapped", std::nullopt, 1000, emptied},
      {"root into user", 1000, 0, sets},
      {"same user", 1000, 1000, sets},
      {"other user", 1000, 2000, sets},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ProcessCredentials target;
    target.uid = c.target_uid;
    target.capabilities = sets;
    EXPECT_TRUE(CapabilitiesForCommand(target, c.command_uid) == c.expected);
  }
}

TEST(ParseId, AcceptsDecimalIdsBelowTheNoIdValue) {
  struct Case {
    const char* text;
    std::optional<uint32_t> id;
  };
  const Case cases[] = {
      {"0", 0u},
      {"1000", 1000u},
      {"4294967294", 4294967294u},
      {"4294967295", std::nullopt},
      {"99999999999", std::nullopt},
      {"", std::nullopt},
      {"+1", std::nullopt},
      {"-1", std::nullopt},
      {" 1", std::nullopt},
      {"1a", std::nullopt},
      {"0x10", std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(ParseId(c.text), c.id);
  }
}

TEST(ParsePasswd, KeepsWellFormedLinesInOrderAndSkipsTheRest) {
  const std::string long_gecos(200000, 'g');
  const std::string text = absl::StrCat(
      "# a comment\n"
      "\n"
      "root:x:0:0:root:/root:/bin/sh\n"
      "+nisuser::::::\n"
      "-other::::::\n"
      "short:x:1:1\n"
      "toolong:x:1:1:g:/h:/bin/sh:extra\n"
      ":x:2:2::/:/bin/sh\n"
      "baduid:x:abc:2::/:/bin/sh\n"
      "badgid:x:3:-1::/:/bin/sh\n"
      "noid:x:4294967295:0::/:/bin/sh\n"
      "app:x:1000:1000:",
      long_gecos,
      ":/home/app:/bin/sh\n"
      "nopass::1001:100:::\n"
      "last:x:1002:1002::/last:/bin/sh");
  std::vector<PasswdEntry> entries = ParsePasswd(text);
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].name, "root");
  EXPECT_EQ(entries[0].uid, 0u);
  EXPECT_EQ(entries[0].home, "/root");
  EXPECT_EQ(entries[1].name, "app");
  EXPECT_EQ(entries[1].uid, 1000u);
  EXPECT_EQ(entries[1].gid, 1000u);
  EXPECT_EQ(entries[1].home, "/home/app");
  EXPECT_EQ(entries[2].name, "nopass");
  EXPECT_EQ(entries[2].gid, 100u);
  EXPECT_EQ(entries[2].home, "");
  EXPECT_EQ(entries[3].name, "last");
  EXPECT_EQ(entries[3].home, "/last");
}

TEST(ParseGroup, KeepsWellFormedLinesAndTheirMembers) {
  const std::string many_members = [] {
    std::string members;
    for (int i = 0; i < 20000; ++i) {
      absl::StrAppend(&members, i == 0 ? "" : ",", "u", i);
    }
    return members;
  }();
  const std::string text = absl::StrCat(
      "#wheel:x:10:root\n"
      "root:x:0:\n"
      "staff:x:50:app,,bob,\n"
      "short:x:51\n"
      "badgid:x:staff:app\n"
      "big:x:60:",
      many_members, "\n");
  std::vector<GroupEntry> entries = ParseGroup(text);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].name, "root");
  EXPECT_TRUE(entries[0].members.empty());
  EXPECT_EQ(entries[1].gid, 50u);
  EXPECT_THAT(entries[1].members, ElementsAre("app", "bob"));
  EXPECT_EQ(entries[2].members.size(), 20000u);
  EXPECT_EQ(entries[2].members.back(), "u19999");
}

constexpr char kPasswd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "app:x:1000:1000:app:/home/app:/bin/sh\n"
    "app:x:1003:1003:shadowed:/nowhere:/bin/sh\n"
    "bob:x:1001:1001::/home/bob:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
constexpr char kGroup[] =
    "root:x:0:\n"
    "app:x:1000:\n"
    "staff:x:50:app,bob\n"
    "audio:x:29:app\n"
    "staff-again:x:50:app\n"
    "nogroup:x:65534:\n";

TEST(ResolveUser, ResolvesNamesAndIdsAsDocumented) {
  const UserDatabase database = {kPasswd, kGroup};
  struct Case {
    const char* user;
    uid_t uid;
    gid_t gid;
    std::vector<gid_t> groups;
    std::optional<std::string> home;
  };
  const Case cases[] = {
      {"app", 1000, 1000, {50, 29}, "/home/app"},
      {"app:nogroup", 1000, 65534, {50, 29}, "/home/app"},
      {"app:7", 1000, 7, {50, 29}, "/home/app"},
      {"bob", 1001, 1001, {50}, "/home/bob"},
      {"root", 0, 0, {}, "/root"},
      {"1001", 1001, 1001, {50}, "/home/bob"},
      {"1000:50", 1000, 50, {50, 29}, "/home/app"},
      {"4242", 4242, 0, {}, std::nullopt},
      {"4242:staff", 4242, 50, {}, std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.user);
    absl::StatusOr<ResolvedUser> user = ResolveUser(c.user, database, "web");
    ASSERT_TRUE(user.ok()) << user.status();
    EXPECT_EQ(user->uid, c.uid);
    EXPECT_EQ(user->gid, c.gid);
    EXPECT_EQ(user->supplementary_gids, c.groups);
    EXPECT_EQ(user->home, c.home);
  }
}

TEST(ResolveUser, UnknownNamesAndMalformedUsersAreRefused) {
  const UserDatabase database = {kPasswd, kGroup};
  const UserDatabase empty = {std::nullopt, std::nullopt};
  struct Case {
    std::string user;
    const UserDatabase* database;
    absl::StatusCode code;
    std::string message;
  };
  const Case cases[] = {
      {"carol", &database, absl::StatusCode::kNotFound,
       "user \"carol\" not found in container web's /etc/passwd"},
      {"app:wheel", &database, absl::StatusCode::kNotFound,
       "group \"wheel\" not found in container web's /etc/group"},
      {"app", &empty, absl::StatusCode::kNotFound,
       "user \"app\" not found in container web: it has no /etc/passwd"},
      {"0:staff", &empty, absl::StatusCode::kNotFound,
       "group \"staff\" not found in container web: it has no /etc/group"},
      {"", &database, absl::StatusCode::kInvalidArgument,
       "user \"\" is not USER or USER:GROUP (names or numeric ids)"},
      {":staff", &database, absl::StatusCode::kInvalidArgument,
       "user \":staff\" is not USER or USER:GROUP (names or numeric ids)"},
      {"app:", &database, absl::StatusCode::kInvalidArgument,
       "user \"app:\" is not USER or USER:GROUP (names or numeric ids)"},
      {"a:b:c", &database, absl::StatusCode::kInvalidArgument,
       "user \"a:b:c\" is not USER or USER:GROUP (names or numeric ids)"},
      {std::string("a\0b", 3), &database, absl::StatusCode::kInvalidArgument,
       "user \"a\\000b\" is not USER or USER:GROUP (names or numeric ids)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.user);
    absl::StatusOr<ResolvedUser> user = ResolveUser(c.user, *c.database, "web");
    EXPECT_EQ(user.status().code(), c.code);
    EXPECT_EQ(user.status().message(), c.message);
  }
}

TEST(ResolveUser, NumericUserNeedsNoDatabase) {
  absl::StatusOr<ResolvedUser> user =
      ResolveUser("1000:1000", {std::nullopt, std::nullopt}, "web");
  ASSERT_TRUE(user.ok()) << user.status();
  EXPECT_EQ(user->uid, 1000u);
  EXPECT_EQ(user->gid, 1000u);
  EXPECT_TRUE(user->supplementary_gids.empty());
  EXPECT_EQ(user->home, std::nullopt);
}

}  // namespace
}  // namespace attachd::daemon
