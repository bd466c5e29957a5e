#include "tests/daemon_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "tests/test_container.h"

extern char** environ;

namespace attachd::testing {
std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<uint64_t> StartTimeOf(pid_t pid) {
  std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  size_t close = stat.rfind(')');
  if (close == std::string::npos) {
    return absl::NotFoundError(absl::StrCat("no process ", pid));
  }
  std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
  uint64_t start = 0;
  if (fields.size() < 20 || !absl::SimpleAtoi(fields[19], &start)) {
    return absl::InternalError("bad /proc/PID/stat");
  }
  return start;
}

void ExpectExitCode(const ExecResult& result, int code) {
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_TRUE(result.exit.has_value());
  EXPECT_EQ(result.exit->status_case(), v1::ExitStatus::kCode);
  EXPECT_EQ(result.exit->code(), code);
  EXPECT_EQ(result.messages_after_exit, 0);
}

absl::StatusOr<std::string> RunfilePath(const std::string& relative) {
  std::vector<std::string> candidates;
  const char* srcdir = getenv("TEST_SRCDIR");
  const char* workspace = getenv("TEST_WORKSPACE");
  if (srcdir != nullptr) {
    candidates.push_back(
        absl::StrCat(srcdir, "/", workspace != nullptr ? workspace : "attachd",
                     "/", relative));
  }
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    candidates.push_back(
        absl::StrCat(std::string(self, n), ".runfiles/attachd/", relative));
  }
  for (const std::string& candidate : candidates) {
    if (access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return absl::NotFoundError(absl::StrCat("runfile ", relative, " not found"));
}

absl::StatusOr<std::unique_ptr<DaemonProcess>> DaemonProcess::Start(
    const std::vector<std::string>& flags) {
  absl::StatusOr<std::string> binary = RunfilePath("daemon/attachd");
  if (!binary.ok()) {
    return binary.status();
  }
  std::unique_ptr<DaemonProcess> daemon(new DaemonProcess());
  char pattern[] = "/tmp/attachd-test-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    return absl::ErrnoToStatus(errno, "mkdtemp");
  }
  daemon->directory_ = pattern;
  daemon->socket_path_ = daemon->directory_ + "/attachd.sock";
  daemon->log_path_ = daemon->directory_ + "/attachd.log";

  std::vector<std::string> args = {*binary, "--socket", daemon->socket_path_};
  args.insert(args.end(), flags.begin(), flags.end());
  std::vector<char*> argv;
  for (std::string& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, daemon->log_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 2, 1);
  int error = posix_spawn(&daemon->pid_, argv[0], &actions, nullptr,
                          argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    return absl::ErrnoToStatus(error, "posix_spawn attachd");
  }

  daemon->channel_ = grpc::CreateChannel("unix:" + daemon->socket_path_,
                                         grpc::InsecureChannelCredentials());
  // Waits up to 10 s for an answer, but not for a daemon that has exited.
  bool connected = false;
  for (int i = 0; i < 100 && !connected; ++i) {
    connected = daemon->channel_->WaitForConnected(
        std::chrono::system_clock::now() + std::chrono::milliseconds(100));
    if (!connected && waitpid(daemon->pid_, nullptr, WNOHANG) == daemon->pid_) {
      daemon->pid_ = -1;
      return absl::FailedPreconditionError(
          absl::StrCat("attachd exited:\n", daemon->Log()));
    }
  }
  if (!connected) {
    return absl::FailedPreconditionError(
        absl::StrCat("attachd did not answer:\n", daemon->Log()));
  }
  daemon->containers_ = v1::ContainerService::NewStub(daemon->channel_);
  daemon->exec_ = v1::ExecService::NewStub(daemon->channel_);
  return daemon;
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) {
    Stop().IgnoreError();
  }
  if (!directory_.empty()) {
    RemoveTree(directory_).IgnoreError();
  }
}

absl::StatusOr<int> DaemonProcess::Stop() {
  if (pid_ <= 0) {
    return absl::FailedPreconditionError("not running");
  }
  kill(pid_, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return absl::DeadlineExceededError("attachd ignored SIGTERM for 10 s");
}

std::string DaemonProcess::Log() const { return ReadFile(log_path_); }

int DaemonProcess::OpenDescriptorCount() const {
  DIR* dir = opendir(absl::StrCat("/proc/", pid_, "/fd").c_str());
  if (dir == nullptr) {
    return -1;
  }
  int count = 0;
  while (struct dirent* entry = readdir(dir)) {
    count += entry->d_name[0] != '.';
  }
  closedir(dir);
  return count;
}

std::vector<pid_t> DaemonProcess::Children() const {
  std::vector<pid_t> children;
  std::string task_dir = absl::StrCat("/proc/", pid_, "/task");
  DIR* dir = opendir(task_dir.c_str());
  if (dir == nullptr) {
    return children;
  }
  while (struct dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') {
      continue;
    }
    std::string text =
        ReadFile(absl::StrCat(task_dir, "/", entry->d_name, "/children"));
    for (absl::string_view word :
         absl::StrSplit(text, ' ', absl::SkipWhitespace())) {
      pid_t child = 0;
      if (absl::SimpleAtoi(word, &child)) {
        children.push_back(child);
      }
    }
  }
  closedir(dir);
  return children;
}

DaemonProcess* SharedDaemonTest::daemon_ = nullptr;

void SharedDaemonTest::SetUpTestSuite() {
  absl::StatusOr<std::unique_ptr<DaemonProcess>> started =
      DaemonProcess::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  daemon_ = started->release();
}

void SharedDaemonTest::TearDownTestSuite() {
  delete daemon_;
  daemon_ = nullptr;
}

ExecResult RunExec(v1::ExecService::Stub& stub, const ExecCall& call) {
  ExecResult result;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoNanoseconds(call.deadline));
  auto stream = stub.Exec(&context);

  v1::ExecRequest first;
  *first.mutable_start() = call.start;
  stream->Write(first);
  std::atomic<bool> exit_seen{false};
  std::thread writer([&] {
    constexpr size_t kChunk = 64 * 1024;
    while (call.endless_stdin && !exit_seen.load()) {
      v1::ExecRequest request;
      request.set_stdin_data(std::string(4096, 'y'));
      if (!stream->Write(request)) {
        break;
      }
    }
    for (size_t at = 0; at < call.stdin_bytes.size(); at += kChunk) {
      v1::ExecRequest request;
      request.set_stdin_data(call.stdin_bytes.substr(at, kChunk));
      if (!stream->Write(request)) {
        break;
      }
    }
    if (call.start.attach_stdin() && !call.endless_stdin) {
      v1::ExecRequest close;
      close.mutable_stdin_close();
      stream->Write(close);
    }
    stream->WritesDone();
  });

  v1::ExecResponse response;
  while (stream->Read(&response)) {
    if (result.exit.has_value()) {
      ++result.messages_after_exit;
    } else if (response.has_started()) {
      result.started = response.started();
    } else if (response.has_exit()) {
      result.exit = response.exit();
      exit_seen.store(true);
    } else if (response.message_case() == v1::ExecResponse::kStdoutData) {
      result.stdout_bytes += response.stdout_data();
    } else {
      result.stderr_bytes += response.stderr_data();
    }
  }
  writer.join();
  result.status = stream->Finish();
  return result;
}

absl::StatusOr<v1::Container> RegisterPid(v1::ContainerService::Stub& stub,
                                          const std::string& name, pid_t pid) {
  absl::StatusOr<uint64_t> start_time = StartTimeOf(pid);
  if (!start_time.ok()) {
    return start_time.status();
  }
  v1::RegisterRequest request;
  request.set_name(name);
  request.set_pid(pid);
  request.set_start_time(*start_time);
  grpc::ClientContext context;
  v1::Container container;
  grpc::Status status = stub.Register(&context, request, &container);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  return container;
}

v1::ExecStart MakeStart(const std::string& container,
                        const std::vector<std::string>& argv) {
  v1::ExecStart start;
  start.set_container(container);
  for (const std::string& arg : argv) {
    start.add_argv(arg);
  }
  return start;
}

}  // namespace attachd::testing
