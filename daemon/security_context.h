// The security context of an exec'd command, from its ExecStart and its
// container: uid, gid and groups (numeric, or a user name resolved in the
// container's own /etc/passwd and /etc/group), capability sets and
// no_new_privs (the container process's, see CapabilitiesForCommand() in
// credentials.h, unless ExecStart.elevated), and LSM label (lsm.h).
//
// Thread-safe; allocates; call from any daemon thread.

#ifndef ATTACHD_DAEMON_SECURITY_CONTEXT_H_
#define ATTACHD_DAEMON_SECURITY_CONTEXT_H_

#include "absl/status/status.h"
#include "attachd/v1/attachd.pb.h"
#include "daemon/attach.h"
#include "daemon/command.h"
#include "daemon/registry.h"

namespace attachd::daemon {

// Sets `spec`'s uid, gid, supplementary_gids, capabilities, no_new_privs
// and lsm_label.  `spec->env` must already hold the command's environment:
// with ExecStart.user, when the request's own `env` has no HOME, HOME is
// set to the user's home directory from /etc/passwd (replacing one
// inherited from the container's process), as docker does.
//
// ExecStart.user is resolved as ResolveUser() (credentials.h) says, after
// reading both files through a worker attached by `attacher` (see
// container_files.h): a missing file counts as empty.  Errors:
// INVALID_ARGUMENT for `user` together with `uid` or `gid`, or a malformed
// `user`; NOT_FOUND for an unknown user or group name;
// FAILED_PRECONDITION when the container exited, or its /etc/passwd or
// /etc/group is refused (see ReadContainerFiles); the worker's errors.
absl::Status SetSecurityContext(const v1::ExecStart& start,
                                const ContainerRef& container,
                                const Attacher& attacher, CommandSpec* spec);

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_SECURITY_CONTEXT_H_
