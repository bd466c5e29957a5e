// Text and JSON renderings of attachd.v1 messages for attachctl's output.
// Pure functions of their arguments (the current time is passed in);
// any thread.

#ifndef ATTACHD_CLIENT_FORMAT_H_
#define ATTACHD_CLIENT_FORMAT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attachd/v1/attachd.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

namespace attachd::client {

// Converts a protobuf Timestamp to absl::Time.
absl::Time ToTime(const google::protobuf::Timestamp& timestamp);

// How long before `now` `then` was, in the largest whole unit, the way
// `docker ps` writes it: "Less than a second ago", "1 second ago",
// "5 minutes ago", "3 hours ago", "2 days ago", "6 weeks ago",
// "4 months ago", "2 years ago".  A `then` after `now` (clock skew) counts
// as "Less than a second ago".
std::string RelativeAge(absl::Time then, absl::Time now);

// The short name of a namespace type as in /proc/PID/ns ("mnt", "net"),
// or "type-N" for a value this client does not know.
std::string NamespaceTypeName(int type);

// The joined namespace types of `container` in /proc/PID/ns order
// ("user,mnt,pid,net,ipc,uts,cgroup,time"), or "-" when none is joined.
std::string JoinedNamespaces(const attachd::v1::Container& container);

// "running", "exited", or "unknown".
std::string StateName(attachd::v1::Container::State state);

// The `attachctl ls` table, one header line and one line per container,
// each ending in '\n': NAME, PID, STATE, NAMESPACES, REGISTERED, in
// left-aligned columns three spaces apart.
std::string ContainerTable(const attachd::v1::ListResponse& list,
                           absl::Time now);

// One `attachctl events` line without its '\n', the time in RFC 3339 with
// fractional seconds, in UTC:
//   "<time> <registered|exited|unregistered> <name> pid=<pid>" with the
//   container's pid;
//   "<time> exec-exited <name> pid=<pid> exit=<code>", or "signal=<N>"
//   instead of "exit=<code>", with the detached command's pid
//   (Started.pid), and " timed-out" at the end when its timeout killed it.
std::string EventLine(const attachd::v1::Event& event);

enum class JsonLayout { kOneLine, kIndented };

// Protobuf's canonical JSON of `message` (lowerCamelCase names, enums by
// name, 64-bit integers and bytes as strings), with fields at their default
// value included.  kIndented ends in '\n'; kOneLine has no line break.
// Returns INTERNAL if protobuf cannot convert the message.
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message,
                                   JsonLayout layout);

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_FORMAT_H_
