#include "daemon/auth.h"

#include <errno.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace attachd::daemon {

std::string PeerCredentials::ToString() const {
  return absl::StrCat("uid=", uid, " gid=", gid, " pid=", pid);
}

absl::StatusOr<PeerCredentials> ReadPeerCredentials(int socket_fd) {
  struct ucred cred;
  socklen_t length = sizeof(cred);
  if (getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) < 0) {
    return absl::ErrnoToStatus(errno, "getsockopt(SO_PEERCRED)");
  }
  PeerCredentials credentials;
  credentials.pid = cred.pid;
  credentials.uid = cred.uid;
  credentials.gid = cred.gid;

  // SO_PEERGROUPS (Linux 4.13) reports ERANGE with the size it needs.
  credentials.groups.resize(64);
  for (;;) {
    length = credentials.groups.size() * sizeof(gid_t);
    if (getsockopt(socket_fd, SOL_SOCKET, SO_PEERGROUPS,
                   credentials.groups.data(), &length) == 0) {
      credentials.groups.resize(length / sizeof(gid_t));
      return credentials;
    }
    if (errno != ERANGE) {
      return absl::ErrnoToStatus(errno, "getsockopt(SO_PEERGROUPS)");
    }
    credentials.groups.resize(length / sizeof(gid_t) + 1);
  }
}

void Authorizer::AddConnection(int socket_fd, PeerCredentials credentials) {
  absl::MutexLock lock(&mutex_);
  peers_[absl::StrCat("fd:", socket_fd)] = std::move(credentials);
}

absl::StatusOr<PeerCredentials> Authorizer::Authorize(
    const grpc::ServerContext& context) const {
  std::string peer = context.peer();
  PeerCredentials credentials;
  {
    absl::MutexLock lock(&mutex_);
    auto it = peers_.find(peer);
    if (it == peers_.end()) {
      return absl::PermissionDeniedError(
          absl::StrCat("unknown peer ", peer, ": credentials not known"));
    }
    credentials = it->second;
  }

  bool in_group =
      allowed_group_.has_value() &&
      (credentials.gid == *allowed_group_ ||
       std::find(credentials.groups.begin(), credentials.groups.end(),
                 *allowed_group_) != credentials.groups.end());
  if (credentials.uid != 0 && !in_group) {
    return absl::PermissionDeniedError(absl::StrCat(
        "uid ", credentials.uid,
        " may not use attachd: only root and the allowed group may (caller ",
        credentials.ToString(), ")"));
  }
  return credentials;
}

}  // namespace attachd::daemon
