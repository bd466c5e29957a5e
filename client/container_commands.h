// The ContainerService subcommands of attachctl: register, ls, inspect, rm
// and events.
//
// Each makes its calls on `stub` (unary ones with a kUnaryCallTimeout
// deadline), writes results to `env.out`, writes one line per failure to
// `env.err` ("attachctl: <what failed>: <why>"), and returns attachctl's
// exit status: 0 on success, 1 if anything failed.  Call from the main
// thread; RunEvents() installs a SignalWatcher.

#ifndef ATTACHD_CLIENT_CONTAINER_COMMANDS_H_
#define ATTACHD_CLIENT_CONTAINER_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "attachd/v1/attachd.grpc.pb.h"
#include "client/command_env.h"

namespace attachd::client {

using ContainerStub = attachd::v1::ContainerService::StubInterface;

struct RegisterArgs {
  std::string name;
  int32_t pid = 0;
  std::optional<uint64_t> start_time;
};

// Registers a container and prints its name.
int RunRegister(ContainerStub& stub, const RegisterArgs& args,
                const CommandEnv& env);

enum class ListFormat { kTable, kNames, kJson };

// Lists the containers: the ContainerTable() aged against `now`, one name
// per line, or the ListResponse as indented JSON.
int RunList(ContainerStub& stub, ListFormat format, absl::Time now,
            const CommandEnv& env);

// Prints one container as indented JSON.
int RunInspect(ContainerStub& stub, const std::string& name,
               const CommandEnv& env);

// Unregisters each container in turn and prints each name removed.  A name
// that fails is reported and the others are still removed; an unreachable
// daemon stops the loop after one message.
int RunRemove(ContainerStub& stub, const std::vector<std::string>& names,
              const CommandEnv& env);

enum class EventFormat { kText, kJson };

// Follows ContainerService.Watch, one EventLine() or one-line JSON object
// per event, flushed as it arrives.  Returns 0 when SIGINT, SIGTERM or
// SIGHUP ends it, when the daemon ends the stream cleanly, or when
// `env.out` fails (its reader went away); 1 when the call fails.
//
// Limitation: a reader that went away is noticed only when the next event
// is written, as with `docker events | head -1`.
int RunEvents(ContainerStub& stub, bool include_existing, EventFormat format,
              const CommandEnv& env);

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_CONTAINER_COMMANDS_H_
