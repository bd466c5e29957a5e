#include "tests/runc_container.h"

#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tests/test_container.h"

namespace attachd::testing {
namespace {

bool IsValidId(const std::string& id) {
  if (id.empty() || id == "." || id == "..") {
    return false;
  }
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::string> MakeTemporaryDirectory(const char* prefix) {
  std::string path = absl::StrCat("/tmp/", prefix, "-XXXXXX");
  if (mkdtemp(path.data()) == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("mkdtemp ", path));
  }
  return path;
}

// Replaces the one occurrence of `from` in `text`.  Anything else means
// `runc spec` wrote something this code was not written for.
absl::Status ReplaceOnce(const std::string& from, const std::string& to,
                         std::string* text) {
  size_t at = text->find(from);
  if (at == std::string::npos ||
      text->find(from, at + from.size()) != std::string::npos) {
    return absl::FailedPreconditionError(absl::StrCat(
        "`runc spec` config.json does not contain exactly one ", from));
  }
  text->replace(at, from.size(), to);
  return absl::OkStatus();
}

// Edits the config that runc 1.1's `runc spec` writes, as text.
absl::Status EditConfig(const std::string& path, const std::string& id) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  std::string config = content.str();

  const std::pair<std::string, std::string> edits[] = {
      {"\"terminal\": true", "\"terminal\": false"},
      {"\"args\": [\n\t\t\t\"sh\"\n\t\t]",
       "\"args\": [\"/bin/sleep\", \"1000000\"]"},
      {"\"hostname\": \"runc\"", absl::StrCat("\"hostname\": \"", id, "\"")},
  };
  for (const auto& [from, to] : edits) {
    absl::Status edited = ReplaceOnce(from, to, &config);
    if (!edited.ok()) {
      return edited;
    }
  }

  std::ofstream out(path, std::ios::trunc);
  out << config;
  out.close();
  if (!out) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

// The value of "key" in `runc state`'s JSON, for a string or number value.
absl::StatusOr<std::string> StateField(const std::string& state,
                                       absl::string_view key) {
  std::string quoted_key = absl::StrCat("\"", key, "\":");
  size_t at = state.find(quoted_key);
  if (at == std::string::npos) {
    return absl::FailedPreconditionError(
        absl::StrCat("no ", quoted_key, " in `runc state`: ", state));
  }
  size_t begin = state.find_first_not_of(" \"", at + quoted_key.size());
  size_t end = state.find_first_of(",\"\n}", begin);
  if (begin == std::string::npos || end == std::string::npos) {
    return absl::FailedPreconditionError(
        absl::StrCat("bad ", quoted_key, " in `runc state`: ", state));
  }
  return state.substr(begin, end - begin);
}

}  // namespace

absl::StatusOr<RuncContainer> RuncContainer::Start(const std::string& id) {
  if (!IsValidId(id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad runc container id \"", id, "\""));
  }

  // Whatever is made before a failure is undone by the destructor.
  RuncContainer container;
  container.id_ = id;
  absl::Status made = container.MakeBundle();
  if (!made.ok()) {
    return made;
  }
  absl::Status ran = container.Run();
  if (!ran.ok()) {
    return ran;
  }
  return container;
}

RuncContainer::RuncContainer(RuncContainer&& other) noexcept {
  *this = std::move(other);
}

RuncContainer& RuncContainer::operator=(RuncContainer&& other) noexcept {
  if (this != &other) {
    Destroy();
    id_ = std::exchange(other.id_, "");
    pid_ = std::exchange(other.pid_, 0);
    bundle_dir_ = std::exchange(other.bundle_dir_, "");
    state_dir_ = std::exchange(other.state_dir_, "");
    run_attempted_ = std::exchange(other.run_attempted_, false);
  }
  return *this;
}

RuncContainer::~RuncContainer() { Destroy(); }

absl::StatusOr<std::string> RuncContainer::Runc(
    const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"runc", "--root", state_dir_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv);
}

absl::Status RuncContainer::MakeBundle() {
  absl::StatusOr<std::string> bundle = MakeTemporaryDirectory("attachd-runc");
  if (!bundle.ok()) {
    return bundle.status();
  }
  bundle_dir_ = *bundle;
  absl::StatusOr<std::string> state =
      MakeTemporaryDirectory("attachd-runc-state");
  if (!state.ok()) {
    return state.status();
  }
  state_dir_ = *state;

  absl::StatusOr<std::string> rootfs =
      MakeBusyboxRootfs(bundle_dir_ + "/rootfs");
  if (!rootfs.ok()) {
    return rootfs.status();
  }
  absl::StatusOr<std::string> spec =
      RunCommand({"runc", "spec", "--bundle", bundle_dir_});
  if (!spec.ok()) {
    return spec.status();
  }
  return EditConfig(bundle_dir_ + "/config.json", id_);
}

absl::Status RuncContainer::Run() {
  // RunCommand gives runc memory files for stdout and stderr, which the
  // detached container inherits; with pipes, reading them would never end.
  run_attempted_ = true;
  absl::StatusOr<std::string> ran =
      Runc({"run", "--detach", "--bundle", bundle_dir_, id_});
  if (!ran.ok()) {
    return ran.status();
  }

  absl::StatusOr<std::string> state = Runc({"state", id_});
  if (!state.ok()) {
    return state.status();
  }
  absl::StatusOr<std::string> status = StateField(*state, "status");
  absl::StatusOr<std::string> pid = StateField(*state, "pid");
  if (!status.ok() || !pid.ok()) {
    return status.ok() ? pid.status() : status.status();
  }
  if (*status != "running" || !absl::SimpleAtoi(*pid, &pid_) || pid_ <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", id_, " is not running: ", *state));
  }
  return absl::OkStatus();
}

void RuncContainer::Destroy() {
  if (run_attempted_) {
    // kill first so that delete finds a stopped container; --force covers
    // a container that kill could not reach.
    absl::StatusOr<std::string> killed = Runc({"kill", id_, "KILL"});
    absl::StatusOr<std::string> deleted = Runc({"delete", "--force", id_});
    if (!deleted.ok()) {
      fprintf(stderr, "RuncContainer: ignored: %s (kill: %s)\n",
              deleted.status().ToString().c_str(),
              killed.status().ToString().c_str());
    }
  }

  for (std::string* dir : {&bundle_dir_, &state_dir_}) {
    if (!dir->empty()) {
      absl::Status removed = RemoveTree(*dir);
      if (!removed.ok()) {
        fprintf(stderr, "RuncContainer: ignored: %s\n",
                removed.ToString().c_str());
      }
      dir->clear();
    }
  }
  run_attempted_ = false;
  pid_ = 0;
}

}  // namespace attachd::testing
