#include "daemon/exec_service.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "daemon/command.h"
#include "daemon/command_cgroup.h"
#include "daemon/grpc_status.h"
#include "daemon/logging.h"
#include "daemon/process.h"
#include "daemon/security_context.h"
#include "daemon/status_macros.h"
#include "daemon/syscalls.h"
#include "daemon/terminal.h"
#include "daemon/worker.h"

namespace attachd::daemon {
namespace {

using Stream = grpc::ServerReaderWriter<v1::ExecResponse, v1::ExecRequest>;

// Output is forwarded in messages of at most this size.
constexpr size_t kChunkSize = 64 * 1024;
// A larger pipe than the default 64 KiB lets a fast writer run further
// ahead of the client, with fewer wake-ups.  The kernel caps it at
// /proc/sys/fs/pipe-max-size; a refusal is harmless.
constexpr int kPipeSize = 1 << 20;
// How often an idle call checks whether its client cancelled: gRPC's
// synchronous API has no cancellation callback.
constexpr int kCancelPollMilliseconds = 100;

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

absl::StatusOr<Pipe> MakePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) {
    return absl::ErrnoToStatus(errno, "pipe2");
  }
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// The environment of the container's process, NUL-separated in procfs.
absl::StatusOr<std::vector<std::string>> TargetEnvironment(
    const ContainerRef& container) {
  absl::StatusOr<std::string> environ =
      ReadProcFile(container.pidfd, container.pid, "environ");
  if (!environ.ok() && absl::IsNotFound(environ.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", container.name, " exited"));
  }
  if (!environ.ok()) {
    return environ.status();
  }
  std::vector<std::string> entries =
      absl::StrSplit(*environ, '\0', absl::SkipEmpty());
  return entries;
}

// `base` with each entry of `overrides` replacing the one with its key, or
// appended.
std::vector<std::string> MergeEnvironment(
    std::vector<std::string> base, const std::vector<std::string>& overrides) {
  for (const std::string& entry : overrides) {
    std::string key = entry.substr(0, entry.find('=') + 1);
    auto same_key = [&key](const std::string& existing) {
      return existing.compare(0, key.size(), key) == 0;
    };
    auto it = std::find_if(base.begin(), base.end(), same_key);
    if (it != base.end() && !key.empty()) {
      *it = entry;
    } else {
      base.push_back(entry);
    }
  }
  return base;
}

absl::StatusOr<CommandSpec> SpecFromRequest(const v1::ExecStart& start,
                                            const ContainerRef& container,
                                            const Attacher& attacher) {
  CommandSpec spec;
  spec.argv.assign(start.argv().begin(), start.argv().end());
  spec.env.assign(start.env().begin(), start.env().end());
  if (start.inherit_env()) {
    ATTACHD_ASSIGN_OR_RETURN(std::vector<std::string> inherited,
                             TargetEnvironment(container));
    spec.env = MergeEnvironment(std::move(inherited), spec.env);
  }
  spec.cwd = start.cwd();
  ATTACHD_RETURN_IF_ERROR(
      SetSecurityContext(start, container, attacher, &spec));
  return spec;
}

// Rewrites a failed start into the caller's terms, keeping the payload
// that says which step failed.
absl::Status DescribeStartFailure(const absl::Status& status,
                                  const v1::ExecStart& start,
                                  const CommandSpec& spec) {
  std::optional<WorkerFailure> failure = GetWorkerFailure(status);
  if (!failure.has_value()) {
    return status;
  }
  std::string program = absl::CHexEscape(spec.argv[0]);
  std::string reason = strerror(failure->errno_value);
  absl::Status described;
  switch (failure->step) {
    case WorkerStep::kExec:
      described = absl::Status(
          status.code(), absl::StrCat("exec \"", program, "\": ", reason));
      break;
    case WorkerStep::kCwd:
      described = absl::Status(
          status.code(),
          absl::StrCat("chdir \"", absl::CHexEscape(spec.cwd), "\": ", reason));
      break;
    case WorkerStep::kCredentials:
      // EINVAL here means the id has no mapping in the user namespace.
      described = absl::InvalidArgumentError(
          absl::StrCat("set uid ", spec.uid, " gid ", spec.gid, ": ", reason,
                       failure->errno_value == EINVAL
                           ? " (not mapped in the container's user namespace?)"
                           : ""));
      break;
    case WorkerStep::kNamespaces:
      if (failure->errno_value == ESRCH) {
        described = absl::FailedPreconditionError(
            absl::StrCat("container ", start.container(), " exited"));
        break;
      }
      [[fallthrough]];
    default:
      described = absl::Status(
          status.code(), absl::StrCat("attach to ", start.container(), ": ",
                                      status.message()));
  }
  status.ForEachPayload(
      [&described](absl::string_view url, const absl::Cord& payload) {
        described.SetPayload(url, payload);
      });
  return described;
}

// Writes one eventfd count; never blocks.
void Signal(const UniqueFd& event) {
  uint64_t one = 1;
  ssize_t ignored = write(event.get(), &one, sizeof(one));
  (void)ignored;
}

absl::Status TerminalSocket(UniqueFd (&pair)[2]) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0) {
    return absl::ErrnoToStatus(errno, "socketpair");
  }
  pair[0].reset(fds[0]);
  pair[1].reset(fds[1]);
  return absl::OkStatus();
}

// The initial terminal size; 24x80 when the request gives none, so that a
// command never starts on a 0x0 terminal.
winsize WindowOf(const v1::ExecStart& start) {
  winsize size = {};
  size.ws_row =
      start.window_size().rows() > 0 ? start.window_size().rows() : 24;
  size.ws_col =
      start.window_size().columns() > 0 ? start.window_size().columns() : 80;
  return size;
}

// Combinations of ExecStart fields that make no sense.
absl::Status ValidateStart(const v1::ExecStart& start) {
  if (start.has_window_size() && !start.tty()) {
    return absl::InvalidArgumentError("window_size without tty");
  }
  if (start.detach() && (start.attach_stdin() || start.tty())) {
    return absl::InvalidArgumentError(
        "a detached command has no streams: no attach_stdin, no tty");
  }
  if (start.has_timeout() &&
      (start.timeout().seconds() < 0 || start.timeout().nanos() < 0 ||
       (start.timeout().seconds() == 0 && start.timeout().nanos() == 0))) {
    return absl::InvalidArgumentError("timeout must be positive");
  }
  return absl::OkStatus();
}

// One call's command and the threads that serve it.
class ExecSession {
 public:
  ExecSession(grpc::ServerContext* context, Stream* stream,
              const ExecOptions& options, DetachedCommands* detached,
              CgroupJanitor* janitor)
      : context_(context),
        stream_(stream),
        options_(options),
        detached_(detached),
        janitor_(janitor) {}
  ~ExecSession();

  absl::Status Run(const v1::ExecStart& start, const ContainerRef& container,
                   const Attacher& attacher);

 private:
  struct Output {
    UniqueFd fd;
    // Bytes the command left in the pipe when it exited: delivered
    // whatever the drain timeout says.
    size_t owed = 0;
    bool is_stderr = false;
  };

  absl::Status Start(const v1::ExecStart& start, const ContainerRef& container,
                     const Attacher& attacher);
  absl::Status PumpOutput();
  absl::Status ForwardChunk(Output& output);
  void NoteExit();
  void KillIfTimedOut();
  void MoveIntoOwnCgroup(AttachPlan& plan);
  absl::Status Finish();
  void KillAndReap();
  void ReadClient();
  bool WriteStdin(const std::string& bytes);
  void FailFromReader(absl::Status status);

  grpc::ServerContext* const context_;
  Stream* const stream_;
  const ExecOptions& options_;
  DetachedCommands* const detached_;
  CgroupJanitor* const janitor_;
  // The command's own cgroup; null where the process group is killed
  // instead.  Declared before command_: destroyed after it is reaped.
  std::unique_ptr<CommandCgroup> cgroup_;

  SpawnedWorker command_;
  bool reaped_ = false;
  bool exited_ = false;
  // When ExecStart.timeout passes, and whether it did.
  std::optional<absl::Time> kill_at_;
  bool timed_out_ = false;
  absl::Time drain_deadline_;
  Output outputs_[2];

  // The terminal's master, with ExecStart.tty; resized by the reader.
  UniqueFd terminal_;
  // Owned by the reader thread once it runs.
  UniqueFd stdin_;
  bool stdin_attached_ = false;
  // Written by the reader when it fails; wakes the pump.
  UniqueFd reader_event_;
  // Written by the pump when it ends; stops pending stdin writes.
  UniqueFd stop_event_;
  std::thread reader_;
  absl::Notification reader_done_;
  absl::Mutex mutex_;
  absl::Status reader_status_ ABSL_GUARDED_BY(mutex_);
};

ExecSession::~ExecSession() {
  if (command_.pidfd.valid() && !reaped_) {
    KillAndReap();
  }
  if (reader_.joinable()) {
    Signal(stop_event_);
    if (!reader_done_.WaitForNotificationWithTimeout(absl::ZeroDuration())) {
      context_->TryCancel();
    }
    reader_.join();
  }
}

absl::Status ExecSession::Run(const v1::ExecStart& start,
                              const ContainerRef& container,
                              const Attacher& attacher) {
  ATTACHD_RETURN_IF_ERROR(Start(start, container, attacher));

  v1::ExecResponse started;
  started.mutable_started()->set_pid(command_.pid);
  started.mutable_started()->set_container_pid(command_.container_pid);
  started.mutable_started()->set_own_cgroup(cgroup_ != nullptr);
  if (start.detach()) {
    detached_->Adopt(start.container(), std::move(command_), std::move(cgroup_),
                     std::move(outputs_[0].fd), std::move(outputs_[1].fd),
                     kill_at_);
    stream_->Write(started);
    return absl::OkStatus();
  }
  if (!stream_->Write(started)) {
    return absl::CancelledError("client went away");
  }
  reader_ = std::thread([this] { ReadClient(); });

  ATTACHD_RETURN_IF_ERROR(PumpOutput());
  return Finish();
}

absl::Status ExecSession::Start(const v1::ExecStart& start,
                                const ContainerRef& container,
                                const Attacher& attacher) {
  ATTACHD_ASSIGN_OR_RETURN(CommandSpec spec,
                           SpecFromRequest(start, container, attacher));
  ATTACHD_ASSIGN_OR_RETURN(Pipe in, MakePipe());
  ATTACHD_ASSIGN_OR_RETURN(Pipe out, MakePipe());
  ATTACHD_ASSIGN_OR_RETURN(Pipe err, MakePipe());
  fcntl(out.write.get(), F_SETPIPE_SZ, kPipeSize);
  fcntl(err.write.get(), F_SETPIPE_SZ, kPipeSize);
  spec.stdin_fd = in.read.get();
  spec.stdout_fd = out.write.get();
  spec.stderr_fd = err.write.get();
  spec.file_limit = options_.command_file_limit;
  UniqueFd terminal_socket[2];
  if (start.tty()) {
    ATTACHD_RETURN_IF_ERROR(TerminalSocket(terminal_socket));
    spec.terminal_socket = terminal_socket[1].get();
    spec.window = WindowOf(start);
  }

  reader_event_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  stop_event_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!reader_event_.valid() || !stop_event_.valid()) {
    return absl::ErrnoToStatus(errno, "eventfd");
  }

  ATTACHD_ASSIGN_OR_RETURN(PreparedCommand command,
                           PreparedCommand::Create(std::move(spec)));
  ATTACHD_ASSIGN_OR_RETURN(AttachPlan plan, attacher.Plan(container));
  MoveIntoOwnCgroup(plan);
  int keep[] = {command.spec().stdin_fd, command.spec().stdout_fd,
                command.spec().stderr_fd, command.spec().terminal_socket};
  absl::StatusOr<SpawnedWorker> spawned =
      SpawnWorker(plan, keep, &PreparedCommand::Start, &command);
  if (!spawned.ok()) {
    return DescribeStartFailure(spawned.status(), start, command.spec());
  }
  command_ = std::move(*spawned);
  if (start.has_timeout()) {
    kill_at_ = absl::Now() + absl::Seconds(start.timeout().seconds()) +
               absl::Nanoseconds(start.timeout().nanos());
  } else if (options_.default_timeout.has_value()) {
    kill_at_ = absl::Now() + *options_.default_timeout;
  }

  // Without -i the command's stdin is a pipe whose writer is already
  // closed: it reads end of file at once, and no host file is opened.
  stdin_attached_ = start.attach_stdin();
  if (start.tty()) {
    // One terminal carries stdin, stdout and stderr.
    ATTACHD_ASSIGN_OR_RETURN(terminal_,
                             ReceiveTerminalMaster(terminal_socket[0].get()));
    outputs_[0].fd.reset(fcntl(terminal_.get(), F_DUPFD_CLOEXEC, 3));
    if (stdin_attached_) {
      stdin_.reset(fcntl(terminal_.get(), F_DUPFD_CLOEXEC, 3));
    }
  } else {
    if (stdin_attached_) {
      stdin_ = std::move(in.write);
    }
    outputs_[0].fd = std::move(out.read);
    outputs_[1].fd = std::move(err.read);
  }
  outputs_[1].is_stderr = true;
  fcntl(stdin_.get(), F_SETFL, O_NONBLOCK);
  for (Output& output : outputs_) {
    fcntl(output.fd.get(), F_SETFL, O_NONBLOCK);
  }
  return absl::OkStatus();
}

void ExecSession::NoteExit() {
  exited_ = true;
  drain_deadline_ = absl::Now() + options_.drain_timeout;
  for (Output& output : outputs_) {
    int pending = 0;
    if (output.fd.valid() && ioctl(output.fd.get(), FIONREAD, &pending) == 0) {
      output.owed = pending;
    }
  }
}

absl::Status ExecSession::PumpOutput() {
  for (;;) {
    bool owed = outputs_[0].owed > 0 || outputs_[1].owed > 0;
    bool open = outputs_[0].fd.valid() || outputs_[1].fd.valid();
    absl::Duration left = drain_deadline_ - absl::Now();
    if (exited_ && !owed && (!open || left <= absl::ZeroDuration())) {
      return absl::OkStatus();
    }

    struct pollfd fds[4] = {
        {outputs_[0].fd.get(), POLLIN, 0},
        {outputs_[1].fd.get(), POLLIN, 0},
        {exited_ ? -1 : command_.pidfd.get(), POLLIN, 0},
        {reader_event_.get(), POLLIN, 0},
    };
    int timeout = kCancelPollMilliseconds;
    if (exited_ && !owed) {
      timeout = std::min<int64_t>(timeout, absl::ToInt64Milliseconds(left) + 1);
    }
    if (kill_at_.has_value() && !timed_out_ && !exited_) {
      int64_t until_kill = absl::ToInt64Milliseconds(*kill_at_ - absl::Now());
      timeout = std::clamp<int64_t>(until_kill + 1, 0, timeout);
    }
    if (poll(fds, 4, timeout) < 0 && errno != EINTR) {
      return absl::ErrnoToStatus(errno, "poll");
    }

    if (context_->IsCancelled()) {
      return absl::CancelledError(
          "the call was cancelled (by the client, its deadline, or attachd "
          "stopping)");
    }
    if (fds[3].revents & POLLIN) {
      absl::MutexLock lock(&mutex_);
      return reader_status_;
    }
    KillIfTimedOut();
    if (fds[2].revents & POLLIN) {
      NoteExit();
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        ATTACHD_RETURN_IF_ERROR(ForwardChunk(outputs_[i]));
      }
    }
  }
}

absl::Status ExecSession::ForwardChunk(Output& output) {
  std::string chunk(kChunkSize, '\0');
  ssize_t n = read(output.fd.get(), chunk.data(), chunk.size());
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
    return absl::OkStatus();
  }
  // A terminal's master reads EIO once no process holds the terminal: its
  // end of file.
  if (n <= 0) {
    output.fd.reset();
    output.owed = 0;
    return absl::OkStatus();
  }
  chunk.resize(n);
  output.owed -= std::min<size_t>(output.owed, n);

  v1::ExecResponse response;
  if (output.is_stderr) {
    *response.mutable_stderr_data() = std::move(chunk);
  } else {
    *response.mutable_stdout_data() = std::move(chunk);
  }
  if (!stream_->Write(response)) {
    return absl::CancelledError("client went away");
  }
  return absl::OkStatus();
}

// Puts the command in a cgroup of its own below the container's cgroup2
// cgroup, so that killing it kills everything it started.  Where that
// cannot be (no cgroup2 for the container, a kernel without cgroup.kill,
// a cgroup attachd may not write), the command runs in the container's
// cgroup and its process group is what gets killed; said once in the log.
void ExecSession::MoveIntoOwnCgroup(AttachPlan& plan) {
  static std::atomic<bool> warned{false};
  if (!plan.cgroups.cgroup2_directory.valid()) {
    return;
  }
  absl::StatusOr<std::unique_ptr<CommandCgroup>> cgroup =
      CommandCgroup::Create(plan.cgroups.cgroup2_directory.get(), janitor_);
  if (!cgroup.ok()) {
    if (!warned.exchange(true)) {
      Log(LogLevel::kWarning,
          "commands run without a cgroup of their own, so a timeout or "
          "cancel kills only their process group (warned once): %s",
          cgroup.status().message());
    }
    return;
  }
  cgroup_ = std::move(*cgroup);
  plan.cgroups.cgroup2_directory.reset(
      fcntl(cgroup_->directory(), F_DUPFD_CLOEXEC, 3));
}

void ExecSession::KillIfTimedOut() {
  if (kill_at_.has_value() && !timed_out_ && !exited_ &&
      absl::Now() >= *kill_at_) {
    KillCommandAndGroup(command_, cgroup_.get());
    timed_out_ = true;
  }
}

absl::Status ExecSession::Finish() {
  v1::ExecResponse response;
  *response.mutable_exit() = ReapCommand(command_);
  response.mutable_exit()->set_timed_out(timed_out_);
  reaped_ = true;

  // Stop feeding stdin: the command is gone.
  Signal(stop_event_);
  if (!stream_->Write(response)) {
    return absl::CancelledError("client went away before the exit status");
  }

  // The protocol asks the client to half-close after the exit status; one
  // that does not is cut off, so that the call cannot pin a thread.
  if (!reader_done_.WaitForNotificationWithTimeout(options_.half_close_grace)) {
    context_->TryCancel();
  }
  reader_.join();
  return absl::OkStatus();
}

void ExecSession::KillAndReap() {
  KillCommandAndGroup(command_, cgroup_.get());
  ReapCommand(command_);
  reaped_ = true;
}

void ExecSession::FailFromReader(absl::Status status) {
  {
    absl::MutexLock lock(&mutex_);
    reader_status_ = std::move(status);
  }
  Signal(reader_event_);
}

bool ExecSession::WriteStdin(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(stdin_.get(), bytes.data() + done, bytes.size() - done);
    if (n > 0) {
      done += n;
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno != EAGAIN) {
      return false;  // EPIPE: the command no longer reads stdin.
    }
    struct pollfd fds[2] = {{stdin_.get(), POLLOUT, 0},
                            {stop_event_.get(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) {
      return false;
    }
    if (fds[1].revents & POLLIN) {
      return false;
    }
  }
  return true;
}

void ExecSession::ReadClient() {
  v1::ExecRequest request;
  bool stdin_closed = false;
  while (stream_->Read(&request)) {
    if (request.has_start()) {
      FailFromReader(absl::InvalidArgumentError("a second start message"));
      break;
    }
    if (request.message_case() == v1::ExecRequest::kStdinClose) {
      stdin_closed = true;
      stdin_.reset();
      continue;
    }
    if (request.message_case() == v1::ExecRequest::kSignal) {
      if (request.signal() < 1 || request.signal() > 64) {
        FailFromReader(absl::InvalidArgumentError(absl::StrCat(
            "signal ", request.signal(), " is not between 1 and 64")));
        break;
      }
      // Before the reap the pidfd reaches the command (or its zombie);
      // after, ESRCH: never another process.
      PidfdSendSignal(command_.pidfd.get(), request.signal(), nullptr, 0);
      continue;
    }
    if (request.message_case() == v1::ExecRequest::kResize) {
      if (!terminal_.valid()) {
        FailFromReader(
            absl::InvalidArgumentError("resize without ExecStart.tty"));
        break;
      }
      winsize size = {};
      size.ws_row = request.resize().rows();
      size.ws_col = request.resize().columns();
      ioctl(terminal_.get(), TIOCSWINSZ, &size);
      continue;
    }
    if (!stdin_attached_ || stdin_closed) {
      FailFromReader(absl::InvalidArgumentError(
          stdin_attached_
              ? "stdin bytes after stdin_close"
              : "stdin bytes, but ExecStart.attach_stdin is not set"));
      break;
    }
    if (stdin_.valid() && !WriteStdin(request.stdin_data())) {
      stdin_.reset();
    }
  }

  // A half-close ends stdin too.
  stdin_.reset();
  reader_done_.Notify();
}

}  // namespace

ExecServiceImpl::ExecServiceImpl(Registry* registry, const Attacher* attacher,
                                 const Authorizer* authorizer,
                                 ExecOptions options)
    : registry_(registry),
      attacher_(attacher),
      authorizer_(authorizer),
      options_(std::move(options)),
      detached_(registry) {}

grpc::Status ExecServiceImpl::Signal(grpc::ServerContext* context,
                                     const v1::SignalRequest* request,
                                     v1::SignalResponse* response) {
  absl::StatusOr<PeerCredentials> caller = authorizer_->Authorize(*context);
  absl::Status status =
      caller.ok() ? detached_.Signal(request->container(), request->pid(),
                                     request->signal())
                  : caller.status();
  if (!status.ok()) {
    Log(LogLevel::kNotice, "signal %d to pid %d in %s by %s failed: %s: %s",
        request->signal(), request->pid(), request->container(),
        caller.ok() ? caller->ToString() : context->peer(),
        absl::StatusCodeToString(status.code()), status.message());
  }
  return ToGrpcStatus(status);
}

grpc::Status ExecServiceImpl::Exec(grpc::ServerContext* context,
                                   Stream* stream) {
  absl::StatusOr<PeerCredentials> caller = authorizer_->Authorize(*context);
  if (!caller.ok()) {
    Log(LogLevel::kWarning, "exec refused for %s: %s", context->peer(),
        caller.status().message());
    return ToGrpcStatus(caller.status());
  }

  v1::ExecRequest first;
  if (!stream->Read(&first) || !first.has_start()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the first message of Exec must be `start`");
  }
  const v1::ExecStart& start = first.start();

  // The call holds a place among max_concurrent_execs until it ends.
  uint32_t running = running_.fetch_add(1) + 1;
  struct Leave {
    std::atomic<uint32_t>& running;
    ~Leave() { running.fetch_sub(1); }
  } leave{running_};
  absl::Status status = [&]() -> absl::Status {
    if (options_.max_concurrent_execs > 0 &&
        running > options_.max_concurrent_execs) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "attachd runs its limit of ", options_.max_concurrent_execs,
          " execs (max_concurrent_execs); retry later"));
    }
    ATTACHD_RETURN_IF_ERROR(ValidateStart(start));
    ATTACHD_ASSIGN_OR_RETURN(std::shared_ptr<const ContainerRef> container,
                             registry_->Acquire(start.container()));
    ExecSession session(context, stream, options_, &detached_, &janitor_);
    return session.Run(start, *container, *attacher_);
  }();
  if (!status.ok()) {
    Log(LogLevel::kNotice, "exec in %s by %s failed: %s: %s", start.container(),
        caller->ToString(), absl::StatusCodeToString(status.code()),
        status.message());
  }
  return ToGrpcStatus(status);
}

}  // namespace attachd::daemon
