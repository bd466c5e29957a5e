// `attachctl kill NAME PID [-s SIGNAL]`: ExecService.Signal to a detached
// command (one started with `attachctl exec -d`, whose pid it printed).
//
// Prints nothing on success, as kill(1); writes one line on `env.err`
// ("attachctl: kill <pid> in <container>: <why>") and returns 1 on
// failure: NOT_FOUND when the pid is not a detached command of the
// container that attachd still tracks.  The call has a kUnaryCallTimeout
// deadline.  Any thread.

#ifndef ATTACHD_CLIENT_KILL_COMMAND_H_
#define ATTACHD_CLIENT_KILL_COMMAND_H_

#include <signal.h>

#include <cstdint>
#include <string>

#include "attachd/v1/attachd.grpc.pb.h"
#include "client/command_env.h"

namespace attachd::client {

struct KillArgs {
  std::string container;
  // Started.pid: the command's pid in attachd's pid namespace.
  int32_t pid = 0;
  // SIGKILL by default, as `docker kill`.
  int signal = SIGKILL;
};

int RunKill(attachd::v1::ExecService::StubInterface& stub, const KillArgs& args,
            const CommandEnv& env);

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_KILL_COMMAND_H_
