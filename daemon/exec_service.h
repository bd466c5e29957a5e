// attachd.v1.ExecService: runs a command in a registered container and
// streams its stdin, stdout and stderr over one bidirectional call.
//
// Each call is served by two threads: the gRPC handler thread starts the
// command (worker.h, command.h) and pumps its output to the client; a
// reader thread takes the client's messages (stdin bytes, stdin close) and
// feeds the command's stdin pipe.  The output pump honours gRPC flow
// control: it reads the next chunk from a pipe only after the previous one
// was accepted, so a slow client slows the command instead of filling the
// daemon's memory.
//
// Timeouts (ExecStart.timeout), cancels and lost clients kill the command
// with SIGKILL: everything in its own cgroup (command_cgroup.h), or, where
// it has none (Started.own_cgroup false), its process group.
// ExitStatus.timed_out says a timeout did it.
//
// Detached commands (ExecStart.detach) are handed to DetachedCommands
// right after `started`.
//
// End of a call:
//   - The command's exit is noticed through its pidfd.  Every byte it
//     wrote before exiting is then delivered; after that, output from
//     background processes that still hold its stdout or stderr is
//     forwarded until both reach end of file or `drain_timeout` passes.
//   - The exit status goes out as the last message; the call then ends with
//     OK once the client has half-closed, or is cancelled after
//     `half_close_grace` if the client has not.
//   - If the client cancels, disconnects or its deadline passes, the
//     command and its process group are killed with SIGKILL and reaped.

#ifndef ATTACHD_DAEMON_EXEC_SERVICE_H_
#define ATTACHD_DAEMON_EXEC_SERVICE_H_

#include <sys/resource.h>

#include <atomic>
#include <cstdint>
#include <optional>

#include "absl/time/time.h"
#include "attachd/v1/attachd.grpc.pb.h"
#include "daemon/attach.h"
#include "daemon/auth.h"
#include "daemon/command_cgroup.h"
#include "daemon/detached.h"
#include "daemon/registry.h"

namespace attachd::daemon {

struct ExecOptions {
  absl::Duration drain_timeout = absl::Seconds(1);
  absl::Duration half_close_grace = absl::Seconds(5);
  // The RLIMIT_NOFILE commands get (attachd raises its own).
  std::optional<rlimit> command_file_limit;
  // The timeout of a command whose request gives none.
  std::optional<absl::Duration> default_timeout;
  // Most Exec calls at once; more get RESOURCE_EXHAUSTED.  0: no limit.
  uint32_t max_concurrent_execs = 0;
};

class ExecServiceImpl final : public v1::ExecService::Service {
 public:
  // All pointers must outlive the service.
  ExecServiceImpl(Registry* registry, const Attacher* attacher,
                  const Authorizer* authorizer, ExecOptions options);

  grpc::Status Exec(grpc::ServerContext* context,
                    grpc::ServerReaderWriter<v1::ExecResponse, v1::ExecRequest>*
                        stream) override;

  // Signals a detached command; see DetachedCommands::Signal.
  grpc::Status Signal(grpc::ServerContext* context,
                      const v1::SignalRequest* request,
                      v1::SignalResponse* response) override;

 private:
  Registry* const registry_;
  const Attacher* attacher_;
  const Authorizer* authorizer_;
  const ExecOptions options_;
  // Before detached_: detached commands hand their cgroups to it when they
  // end, also while the service shuts down.
  CgroupJanitor janitor_;
  DetachedCommands detached_;
  std::atomic<uint32_t> running_{0};
};

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_EXEC_SERVICE_H_
