// Who may call attachd, and who is calling.
//
// attachd accepts connections on its Unix socket itself, so that it can
// read each peer's credentials with SO_PEERCRED and SO_PEERGROUPS before
// handing the connection to gRPC (grpc::AddInsecureChannelFromFd).  gRPC
// names such a connection "fd:N" in ServerContext::peer(); the table maps
// that name back to the credentials read at accept time.
//
// Policy: uid 0, and members (primary or supplementary, at connect time)
// of the configured group, are allowed; everyone else is refused each call
// with PERMISSION_DENIED.
//
// Thread-safe.

#ifndef ATTACHD_DAEMON_AUTH_H_
#define ATTACHD_DAEMON_AUTH_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server_context.h"

namespace attachd::daemon {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;

  // "uid=1000 gid=1000 pid=4242", for logs.
  std::string ToString() const;
};

// SO_PEERCRED and SO_PEERGROUPS of a connected Unix socket.
absl::StatusOr<PeerCredentials> ReadPeerCredentials(int socket_fd);

class Authorizer {
 public:
  // `allowed_group`: members may call besides root; none if unset.
  explicit Authorizer(std::optional<gid_t> allowed_group)
      : allowed_group_(allowed_group) {}

  // Records the credentials of the connection on `socket_fd`, before the
  // connection is handed to gRPC.
  void AddConnection(int socket_fd, PeerCredentials credentials);

  // The caller's credentials if the caller is allowed; PERMISSION_DENIED
  // otherwise, and for a connection attachd did not accept itself.
  absl::StatusOr<PeerCredentials> Authorize(
      const grpc::ServerContext& context) const;

 private:
  const std::optional<gid_t> allowed_group_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, PeerCredentials> peers_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_AUTH_H_
