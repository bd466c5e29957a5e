#include "client/format.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "attachd/v1/attachd.pb.h"
#include "gtest/gtest.h"

namespace attachd::client {
namespace {

using ::attachd::v1::Container;
using ::attachd::v1::Event;
using ::attachd::v1::ListResponse;
using ::attachd::v1::NamespaceType;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

TEST(RelativeAge, UsesTheLargestWholeUnit) {
  struct Case {
    absl::Duration age;
    std::string text;
  };
  for (const Case& c : std::vector<Case>{
           {absl::Seconds(-30), "Less than a second ago"},
           {absl::ZeroDuration(), "Less than a second ago"},
           {absl::Milliseconds(999), "Less than a second ago"},
           {absl::Seconds(1), "1 second ago"},
           {absl::Seconds(5), "5 seconds ago"},
           {absl::Seconds(59), "59 seconds ago"},
           {absl::Seconds(60), "1 minute ago"},
           {absl::Seconds(150), "2 minutes ago"},
           {absl::Minutes(59), "59 minutes ago"},
           {absl::Minutes(60), "1 hour ago"},
           {absl::Hours(47), "47 hours ago"},
           {absl::Hours(48), "2 days ago"},
           {absl::Hours(24 * 13), "13 days ago"},
           {absl::Hours(24 * 14), "2 weeks ago"},
           {absl::Hours(24 * 59), "8 weeks ago"},
           {absl::Hours(24 * 60), "2 months ago"},
           {absl::Hours(24 * 729), "24 months ago"},
           {absl::Hours(24 * 730), "2 years ago"},
       }) {
    SCOPED_TRACE(absl::FormatDuration(c.age));
    EXPECT_EQ(RelativeAge(kNow - c.age, kNow), c.text);
  }
}

void AddNamespace(Container* container, NamespaceType type, bool joined) {
  attachd::v1::Namespace* ns = container->add_namespaces();
  ns->set_type(type);
  ns->set_inode(4026531835 + type);
  ns->set_joined(joined);
}

void SetTime(google::protobuf::Timestamp* timestamp, absl::Time time) {
  timestamp->set_seconds(absl::ToUnixSeconds(time));
  timestamp->set_nanos(static_cast<int32_t>(
      (time - absl::FromUnixSeconds(absl::ToUnixSeconds(time))) /
      absl::Nanoseconds(1)));
}

Container Web() {
  Container web;
  web.set_name("web");
  web.set_pid(4242);
  web.set_start_time(123456);
  web.set_state(Container::STATE_RUNNING);
  for (int type = attachd::v1::NAMESPACE_TYPE_TIME;
       type >= attachd::v1::NAMESPACE_TYPE_USER; --type) {
    AddNamespace(&web, static_cast<NamespaceType>(type), true);
  }
  SetTime(web.mutable_registered_at(), kNow - absl::Seconds(5));
  return web;
}

Container Db() {
  Container db;
  db.set_name("database-primary");
  db.set_pid(17);
  db.set_state(Container::STATE_EXITED);
  AddNamespace(&db, attachd::v1::NAMESPACE_TYPE_NET, true);
  AddNamespace(&db, attachd::v1::NAMESPACE_TYPE_MNT, true);
  AddNamespace(&db, attachd::v1::NAMESPACE_TYPE_USER, false);
  SetTime(db.mutable_registered_at(), kNow - absl::Minutes(2));
  return db;
}

TEST(JoinedNamespaces, ListsJoinedTypesInProcOrder) {
  Container none;
  AddNamespace(&none, attachd::v1::NAMESPACE_TYPE_PID, false);
  Container unknown;
  AddNamespace(&unknown, static_cast<NamespaceType>(12), true);

  EXPECT_EQ(JoinedNamespaces(Web()), "user,mnt,pid,net,ipc,uts,cgroup,time");
  EXPECT_EQ(JoinedNamespaces(Db()), "mnt,net");
  EXPECT_EQ(JoinedNamespaces(none), "-");
  EXPECT_EQ(JoinedNamespaces(Container()), "-");
  EXPECT_EQ(JoinedNamespaces(unknown), "type-12");
}

TEST(ContainerTable, AlignsColumnsLikeDockerPs) {
  ListResponse list;
  *list.add_containers() = Db();
  *list.add_containers() = Web();
  Container unregistered_time;
  unregistered_time.set_name("x");
  *list.add_containers() = unregistered_time;

  EXPECT_EQ(ContainerTable(list, kNow),
            "NAME               PID    STATE     NAMESPACES                    "
            "         REGISTERED\n"
            "database-primary   17     exited    mnt,net                       "
            "         2 minutes ago\n"
            "web                4242   running   user,mnt,pid,net,ipc,uts,cgrou"
            "p,time   5 seconds ago\n"
            "x                  0      unknown   -                             "
            "         -\n");
}

TEST(ContainerTable, PrintsOnlyTheHeaderWhenEmpty) {
  EXPECT_EQ(ContainerTable(ListResponse(), kNow),
            "NAME   PID   STATE   NAMESPACES   REGISTERED\n");
}

TEST(EventLine, WritesUtcTimeTypeNameAndPid) {
  struct Case {
    Event::Type type;
    std::string line;
  };
  for (const Case& c : std::vector<Case>{
           {Event::TYPE_REGISTERED,
            "2023-11-14T22:13:20.000042Z registered web pid=4242"},
           {Event::TYPE_EXITED,
            "2023-11-14T22:13:20.000042Z exited web pid=4242"},
           {Event::TYPE_UNREGISTERED,
            "2023-11-14T22:13:20.000042Z unregistered web pid=4242"},
           {static_cast<Event::Type>(9),
            "2023-11-14T22:13:20.000042Z type-9 web pid=4242"},
       }) {
    SCOPED_TRACE(c.line);
    Event event;
    event.set_type(c.type);
    *event.mutable_container() = Web();
    SetTime(event.mutable_time(), kNow + absl::Microseconds(42));

    EXPECT_EQ(EventLine(event), c.line);
  }
}

TEST(EventLine, WritesAnExecExitWithTheCommandsPidAndStatus) {
  struct Case {
    std::function<void(attachd::v1::ExitStatus*)> set;
    std::string line;
  };
  for (const Case& c : std::vector<Case>{
           {[](attachd::v1::ExitStatus* s) { s->set_code(0); },
            "2023-11-14T22:13:20.000042Z exec-exited web pid=31337 exit=0"},
           {[](attachd::v1::ExitStatus* s) { s->set_code(3); },
            "2023-11-14T22:13:20.000042Z exec-exited web pid=31337 exit=3"},
           {[](attachd::v1::ExitStatus* s) { s->set_signal(9); },
            "2023-11-14T22:13:20.000042Z exec-exited web pid=31337 signal=9"},
           {[](attachd::v1::ExitStatus* s) {
              s->set_signal(6);
              s->set_core_dumped(true);
            },
            "2023-11-14T22:13:20.000042Z exec-exited web pid=31337 signal=6"},
           {[](attachd::v1::ExitStatus* s) {
              s->set_signal(9);
              s->set_timed_out(true);
            },
            "2023-11-14T22:13:20.000042Z exec-exited web pid=31337 signal=9 "
            "timed-out"},
           {[](attachd::v1::ExitStatus*) {},
            "2023-11-14T22:13:20.000042Z exec-exited web pid=31337 "
            "exit=unknown"},
       }) {
    SCOPED_TRACE(c.line);
    Event event;
    event.set_type(Event::TYPE_EXEC_EXITED);
    *event.mutable_container() = Web();
    SetTime(event.mutable_time(), kNow + absl::Microseconds(42));
    event.mutable_exec_exited()->set_pid(31337);
    event.mutable_exec_exited()->set_container_pid(12);
    c.set(event.mutable_exec_exited()->mutable_status());

    EXPECT_EQ(EventLine(event), c.line);
  }
}

TEST(ToJson, NamesEnumsAndKeepsDefaults) {
  Container db = Db();
  db.clear_namespaces();
  AddNamespace(&db, attachd::v1::NAMESPACE_TYPE_USER, false);
  db.clear_registered_at();

  absl::StatusOr<std::string> indented = ToJson(db, JsonLayout::kIndented);
  absl::StatusOr<std::string> one_line = ToJson(db, JsonLayout::kOneLine);

  ASSERT_TRUE(indented.ok()) << indented.status();
  EXPECT_EQ(*indented,
            "{\n"
            " \"name\": \"database-primary\",\n"
            " \"pid\": 17,\n"
            " \"startTime\": \"0\",\n"
            " \"state\": \"STATE_EXITED\",\n"
            " \"namespaces\": [\n"
            "  {\n"
            "   \"type\": \"NAMESPACE_TYPE_USER\",\n"
            "   \"device\": \"0\",\n"
            "   \"inode\": \"4026531836\",\n"
            "   \"joined\": false\n"
            "  }\n"
            " ],\n"
            " \"cgroups\": [],\n"
            " \"lsm\": \"\",\n"
            " \"lsmLabel\": \"\",\n"
            " \"notApplied\": []\n"
            "}\n");
  ASSERT_TRUE(one_line.ok()) << one_line.status();
  EXPECT_EQ(*one_line,
            "{\"name\":\"database-primary\",\"pid\":17,\"startTime\":\"0\","
            "\"state\":\"STATE_EXITED\",\"namespaces\":[{\"type\":"
            "\"NAMESPACE_TYPE_USER\",\"device\":\"0\",\"inode\":\"4026531836\","
            "\"joined\":false}],\"cgroups\":[],\"lsm\":\"\",\"lsmLabel\":\"\","
            "\"notApplied\":[]}");
}

}  // namespace
}  // namespace attachd::client
