#include "daemon/security_context.h"

#include <errno.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "daemon/container_files.h"
#include "daemon/credentials.h"
#include "daemon/lsm.h"
#include "daemon/process.h"
#include "daemon/status_macros.h"

namespace attachd::daemon {
namespace {

// A procfs read of the container's process, with its exit reported as the
// container's.
absl::StatusOr<std::string> ReadContainerProcFile(const ContainerRef& container,
                                                  const char* name) {
  absl::StatusOr<std::string> text =
      ReadProcFile(container.pidfd, container.pid, name);
  if (!text.ok() && absl::IsNotFound(text.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", container.name, " exited"));
  }
  return text;
}

// The container's /etc/passwd and /etc/group, read inside it.
absl::StatusOr<UserDatabase> ReadUserDatabase(const ContainerRef& container,
                                              const Attacher& attacher,
                                              const std::string& user) {
  ATTACHD_ASSIGN_OR_RETURN(AttachPlan plan, attacher.Plan(container));
  absl::StatusOr<std::vector<absl::StatusOr<std::string>>> files =
      ReadContainerFiles(plan, {"/etc/passwd", "/etc/group"});
  absl::Status failure = files.ok() ? absl::OkStatus() : files.status();

  UserDatabase database;
  std::optional<std::string>* fields[] = {&database.passwd, &database.group};
  for (size_t i = 0; failure.ok() && i < 2; ++i) {
    absl::StatusOr<std::string>& file = (*files)[i];
    if (file.ok()) {
      *fields[i] = std::move(*file);
    } else if (!absl::IsNotFound(file.status())) {
      failure = file.status();
    }
  }
  if (failure.ok()) {
    return database;
  }

  absl::Status described(failure.code(),
                         absl::StrCat("cannot resolve user \"",
                                      absl::CEscape(user), "\" in container ",
                                      container.name, ": ", failure.message()));
  failure.ForEachPayload(
      [&described](absl::string_view url, const absl::Cord& payload) {
        described.SetPayload(url, payload);
      });
  return described;
}

bool RequestSetsHome(const v1::ExecStart& start) {
  for (const std::string& entry : start.env()) {
    if (absl::StartsWith(entry, "HOME=")) {
      return true;
    }
  }
  return false;
}

// Replaces HOME in `env`, or appends it.
void SetHome(const std::string& home, std::vector<std::string>* env) {
  std::string entry = absl::StrCat("HOME=", home);
  for (std::string& existing : *env) {
    if (absl::StartsWith(existing, "HOME=")) {
      existing = std::move(entry);
      return;
    }
  }
  env->push_back(std::move(entry));
}

absl::Status SetIdentity(const v1::ExecStart& start,
                         const ContainerRef& container,
                         const Attacher& attacher, CommandSpec* spec) {
  spec->supplementary_gids.assign(start.supplementary_gids().begin(),
                                  start.supplementary_gids().end());
  if (start.user().empty()) {
    spec->uid = start.has_uid() ? start.uid() : 0;
    spec->gid = start.has_gid() ? start.gid() : 0;
    return absl::OkStatus();
  }
  if (start.has_uid() || start.has_gid()) {
    return absl::InvalidArgumentError(
        "ExecStart.user excludes ExecStart.uid and ExecStart.gid");
  }

  ATTACHD_ASSIGN_OR_RETURN(UserDatabase database,
                           ReadUserDatabase(container, attacher, start.user()));
  absl::StatusOr<ResolvedUser> resolved =
      ResolveUser(start.user(), database, container.name);
  if (absl::IsNotFound(resolved.status())) {
    // Like a credentials failure in the worker: the command cannot be
    // started as asked (docker exits 126 for "unable to find user").
    return WithWorkerFailure(resolved.status(),
                             {WorkerStep::kCredentials, ENOENT});
  }
  ATTACHD_ASSIGN_OR_RETURN(ResolvedUser user, std::move(resolved));
  spec->uid = user.uid;
  spec->gid = user.gid;
  if (start.supplementary_gids().empty()) {
    spec->supplementary_gids = std::move(user.supplementary_gids);
  }
  if (user.home.has_value() && !RequestSetsHome(start)) {
    SetHome(*user.home, &spec->env);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SetSecurityContext(const v1::ExecStart& start,
                                const ContainerRef& container,
                                const Attacher& attacher, CommandSpec* spec) {
  ATTACHD_RETURN_IF_ERROR(SetIdentity(start, container, attacher, spec));

  if (!start.elevated()) {
    ATTACHD_ASSIGN_OR_RETURN(std::string status,
                             ReadContainerProcFile(container, "status"));
    ATTACHD_ASSIGN_OR_RETURN(std::string uid_map,
                             ReadContainerProcFile(container, "uid_map"));
    ATTACHD_ASSIGN_OR_RETURN(ProcessCredentials target,
                             ParseProcessCredentials(status, uid_map));
    spec->capabilities = CapabilitiesForCommand(target, spec->uid);
    spec->no_new_privs = target.no_new_privs;
  }

  // Like `docker exec --privileged`, an elevated command keeps the label.
  absl::StatusOr<ExecLabel> label =
      ReadExecLabel(ActiveLsm(), container.pidfd, container.pid);
  if (!label.ok() && absl::IsNotFound(label.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", container.name, " exited"));
  }
  ATTACHD_RETURN_IF_ERROR(label.status());
  spec->lsm_label = std::move(*label);
  return absl::OkStatus();
}

}  // namespace attachd::daemon
