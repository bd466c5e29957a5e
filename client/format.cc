#include "client/format.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"

namespace attachd::client {
namespace {

using ::attachd::v1::Container;
using ::attachd::v1::Event;
using ::attachd::v1::ListResponse;
using ::attachd::v1::NamespaceType;

constexpr int64_t kMinute = 60;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

// An age below `below` seconds is written in whole `seconds`-long units.
struct AgeUnit {
  int64_t seconds;
  int64_t below;
  const char* name;
};

constexpr std::array<AgeUnit, 7> kAgeUnits = {{
    {1, kMinute, "second"},
    {kMinute, kHour, "minute"},
    {kHour, 2 * kDay, "hour"},
    {kDay, 14 * kDay, "day"},
    {7 * kDay, 60 * kDay, "week"},
    {30 * kDay, 2 * 365 * kDay, "month"},
    {365 * kDay, INT64_MAX, "year"},
}};

// "%E6S" keeps every line's time the same width; "Z" is correct because the
// time zone is always UTC.
constexpr char kRfc3339Utc[] = "%Y-%m-%d%ET%H:%M:%E6SZ";

using Row = std::array<std::string, 5>;

Row ContainerRow(const Container& container, absl::Time now) {
  std::string registered = "-";
  if (container.has_registered_at()) {
    registered = RelativeAge(ToTime(container.registered_at()), now);
  }
  return {container.name(), absl::StrCat(container.pid()),
          StateName(container.state()), JoinedNamespaces(container),
          registered};
}

std::string FormatRows(const std::vector<Row>& rows) {
  std::array<size_t, 5> widths = {};
  for (const Row& row : rows) {
    for (size_t column = 0; column < row.size(); ++column) {
      widths[column] = std::max(widths[column], row[column].size());
    }
  }

  std::string table;
  for (const Row& row : rows) {
    for (size_t column = 0; column + 1 < row.size(); ++column) {
      absl::StrAppend(
          &table, row[column],
          std::string(widths[column] - row[column].size() + 3, ' '));
    }
    absl::StrAppend(&table, row.back(), "\n");
  }
  return table;
}

std::string EventTypeName(Event::Type type) {
  switch (type) {
    case Event::TYPE_REGISTERED:
      return "registered";
    case Event::TYPE_EXITED:
      return "exited";
    case Event::TYPE_UNREGISTERED:
      return "unregistered";
    case Event::TYPE_EXEC_EXITED:
      return "exec-exited";
    default:
      return absl::StrCat("type-", static_cast<int>(type));
  }
}

std::string ExitStatusFields(const attachd::v1::ExitStatus& status) {
  std::string fields;
  switch (status.status_case()) {
    case attachd::v1::ExitStatus::kCode:
      fields = absl::StrCat("exit=", status.code());
      break;
    case attachd::v1::ExitStatus::kSignal:
      fields = absl::StrCat("signal=", status.signal());
      break;
    case attachd::v1::ExitStatus::STATUS_NOT_SET:
      fields = "exit=unknown";
      break;
  }
  if (status.timed_out()) {
    absl::StrAppend(&fields, " timed-out");
  }
  return fields;
}

}  // namespace

absl::Time ToTime(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

std::string RelativeAge(absl::Time then, absl::Time now) {
  int64_t age = absl::ToInt64Seconds(now - then);
  if (age < 1) {
    return "Less than a second ago";
  }

  for (const AgeUnit& unit : kAgeUnits) {
    if (age < unit.below) {
      int64_t count = age / unit.seconds;
      return absl::StrCat(count, " ", unit.name, count == 1 ? "" : "s", " ago");
    }
  }
  return "Less than a second ago";  // Unreachable: the last unit has no end.
}

std::string NamespaceTypeName(int type) {
  static constexpr std::array<const char*, 9> kNames = {
      "", "user", "mnt", "pid", "net", "ipc", "uts", "cgroup", "time"};
  if (type >= 1 && type < static_cast<int>(kNames.size())) {
    return kNames[type];
  }
  return absl::StrCat("type-", type);
}

std::string JoinedNamespaces(const Container& container) {
  std::vector<int> types;
  for (const attachd::v1::Namespace& ns : container.namespaces()) {
    if (ns.joined()) {
      types.push_back(ns.type());
    }
  }
  if (types.empty()) {
    return "-";
  }

  std::sort(types.begin(), types.end());
  return absl::StrJoin(types, ",", [](std::string* out, int type) {
    out->append(NamespaceTypeName(type));
  });
}

std::string StateName(Container::State state) {
  switch (state) {
    case Container::STATE_RUNNING:
      return "running";
    case Container::STATE_EXITED:
      return "exited";
    default:
      return "unknown";
  }
}

std::string ContainerTable(const ListResponse& list, absl::Time now) {
  std::vector<Row> rows = {
      {"NAME", "PID", "STATE", "NAMESPACES", "REGISTERED"}};
  for (const Container& container : list.containers()) {
    rows.push_back(ContainerRow(container, now));
  }
  return FormatRows(rows);
}

std::string EventLine(const Event& event) {
  std::string line = absl::StrCat(
      absl::FormatTime(kRfc3339Utc, ToTime(event.time()), absl::UTCTimeZone()),
      " ", EventTypeName(event.type()), " ", event.container().name());
  if (event.type() == Event::TYPE_EXEC_EXITED) {
    absl::StrAppend(&line, " pid=", event.exec_exited().pid(), " ",
                    ExitStatusFields(event.exec_exited().status()));
  } else {
    absl::StrAppend(&line, " pid=", event.container().pid());
  }
  return line;
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message,
                                   JsonLayout layout) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = layout == JsonLayout::kIndented;
  options.always_print_primitive_fields = true;

  std::string json;
  auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat(
        "converting ", message.GetTypeName(), " to JSON: ", status.ToString()));
  }
  if (layout == JsonLayout::kIndented && json.back() != '\n') {
    json.push_back('\n');
  }
  return json;
}

}  // namespace attachd::client
