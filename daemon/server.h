// attachd's gRPC server on a Unix socket.
//
// The socket is either inherited from a service manager (socket
// activation, sd_listen_fds(3)) or created at `socket_path` with mode 0660
// and the allowed group as its group.  attachd accepts each connection
// itself, reads the peer's credentials (auth.h), and hands the connection
// to gRPC.  The gRPC health service is served too.
//
// Threads: Start() spawns the accept thread; Shutdown() may be called from
// any thread, once.

#ifndef ATTACHD_DAEMON_SERVER_H_
#define ATTACHD_DAEMON_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/auth.h"
#include "daemon/unique_fd.h"
#include "grpcpp/server.h"

namespace attachd::daemon {

struct ServerOptions {
  std::string socket_path = "/run/attachd/attachd.sock";
  std::optional<gid_t> group;
};

class Server {
 public:
  // Listens and starts serving `services` (not owned; they must outlive
  // the server).  FAILED_PRECONDITION when another attachd already serves
  // the socket path.
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      const ServerOptions& options, Authorizer* authorizer,
      const std::vector<grpc::Service*>& services);
  ~Server();

  // Stops accepting connections, waits up to `grace` for the calls in
  // flight to end, then cancels the rest and closes every connection.
  void Shutdown(absl::Duration grace);

  // Calls in flight, counted by a gRPC interceptor.
  int active_calls() const;

  // Where the server listens ("inherited socket" when activated).
  const std::string& description() const { return description_; }

 private:
  // Counts the calls in flight, so that Shutdown() can stop as soon as
  // they are done: gRPC's own graceful shutdown also waits for idle
  // clients to hang up, which they may never do.
  class ActiveCalls {
   public:
    void Add(int delta);
    int count() const;
    // True once no call is in flight; false after `timeout`.
    bool WaitIdle(absl::Duration timeout);

   private:
    mutable absl::Mutex mutex_;
    int count_ ABSL_GUARDED_BY(mutex_) = 0;
  };

  Server(UniqueFd listener, bool owns_path, std::string description,
         std::string socket_path, Authorizer* authorizer);
  void AcceptLoop();

  ActiveCalls active_calls_;

  UniqueFd listener_;
  const bool owns_path_;
  const std::string description_;
  const std::string socket_path_;
  Authorizer* const authorizer_;
  std::unique_ptr<grpc::Server> grpc_server_;
  UniqueFd stop_event_;
  std::thread acceptor_;
  bool shut_down_ = false;
};

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_SERVER_H_
