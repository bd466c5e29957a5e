#include "client/exec_session.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/fd_io.h"

namespace attachd::client {

using ::attachd::v1::ExecRequest;
using ::attachd::v1::ExecResponse;
using ::attachd::v1::ExecStart;
using ::attachd::v1::ExitStatus;

ExecSession::ExecSession(attachd::v1::ExecService::StubInterface* stub,
                         ExecIo io)
    : stub_(stub), io_(io) {}

ExecResult ExecSession::Run(const ExecStart& start) {
  ExecResult result;
  wake_fd_.reset(eventfd(0, EFD_CLOEXEC));
  if (!wake_fd_.valid()) {
    result.status = grpc::Status(grpc::StatusCode::INTERNAL,
                                 absl::StrCat("eventfd: ", strerror(errno)));
    return result;
  }

  stream_ = stub_->Exec(&context_);
  ExecRequest request;
  *request.mutable_start() = start;
  bool start_sent = stream_->Write(request);
  if (start_sent && start.attach_stdin()) {
    stdin_thread_ = std::thread(&ExecSession::ForwardStdin, this);
  } else {
    stream_->WritesDone();
    half_closed_ = true;
  }

  result.exit = ReadUntilExit(&result.daemon_answered);
  StopStdinAndHalfClose();
  if (result.exit.has_value()) {
    DrainAfterExit();
  }

  result.status = stream_->Finish();
  return result;
}

std::optional<ExitStatus> ExecSession::ReadUntilExit(bool* daemon_answered) {
  ExecResponse response;
  while (stream_->Read(&response)) {
    *daemon_answered = true;
    switch (response.message_case()) {
      case ExecResponse::kStarted:
        ReportStarted(response.started());
        break;
      case ExecResponse::kStdoutData:
        WriteOutput(io_.stdout_fd, response.stdout_data(), &stdout_open_);
        break;
      case ExecResponse::kStderrData:
        WriteOutput(io_.stderr_fd, response.stderr_data(), &stderr_open_);
        break;
      case ExecResponse::kExit:
        return response.exit();
      case ExecResponse::MESSAGE_NOT_SET:
        break;  // A message added after this client was written.
    }
  }
  return std::nullopt;
}

void ExecSession::WriteOutput(int fd, const std::string& bytes, bool* open) {
  if (!*open) {
    return;
  }

  absl::Status status = WriteAll(fd, bytes);
  if (status.ok()) {
    return;
  }
  *open = false;
  if (!absl::IsFailedPrecondition(status)) {
    Warn(absl::StrCat("writing the command's output: ", status.message(),
                      "; discarding the rest of that stream"));
  }
}

void ExecSession::ReportStarted(const attachd::v1::Started& started) {
  if (io_.verbose) {
    Warn(absl::StrCat("started pid ", started.pid(), " (pid ",
                      started.container_pid(), " in the container)"));
  }
}

// The daemon sends nothing after `exit`; reading on is how the client learns
// that the call has ended, which Finish() requires.
void ExecSession::DrainAfterExit() {
  ExecResponse ignored;
  while (stream_->Read(&ignored)) {
  }
}

void ExecSession::ForwardStdin() {
  std::string chunk;
  while (true) {
    StdinEvent event = ReadStdin(&chunk);
    if (event == StdinEvent::kWoken) {
      return;
    }

    ExecRequest request;
    if (event == StdinEvent::kEndOfFile) {
      request.mutable_stdin_close();
      stream_->Write(request);
      stream_->WritesDone();
      half_closed_ = true;
      return;
    }
    request.set_stdin_data(chunk);
    if (!stream_->Write(request)) {
      return;  // The call is over; Read() on the calling thread sees why.
    }
  }
}

// Waits for stdin and the wake eventfd together, so that the thread never
// sits in a read(2) of stdin that nothing could interrupt.
ExecSession::StdinEvent ExecSession::ReadStdin(std::string* chunk) {
  while (true) {
    struct pollfd fds[2] = {
        {.fd = wake_fd_.get(), .events = POLLIN, .revents = 0},
        {.fd = io_.stdin_fd, .events = POLLIN, .revents = 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      Warn(absl::StrCat("poll(stdin): ", strerror(errno),
                        "; closing the command's stdin"));
      return StdinEvent::kEndOfFile;
    }
    if (fds[0].revents != 0) {
      return StdinEvent::kWoken;
    }
    if (fds[1].revents == 0) {
      continue;
    }

    chunk->resize(kStdinChunkSize);
    ssize_t count = read(io_.stdin_fd, chunk->data(), chunk->size());
    if (count > 0) {
      chunk->resize(static_cast<size_t>(count));
      return StdinEvent::kData;
    }
    if (count < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;
    }
    if (count < 0) {
      Warn(absl::StrCat("reading stdin: ", strerror(errno),
                        "; closing the command's stdin"));
    }
    return StdinEvent::kEndOfFile;
  }
}

void ExecSession::StopStdinAndHalfClose() {
  if (stdin_thread_.joinable()) {
    uint64_t one = 1;
    while (write(wake_fd_.get(), &one, sizeof(one)) < 0 && errno == EINTR) {
    }
    stdin_thread_.join();
  }

  if (!half_closed_) {
    stream_->WritesDone();
    half_closed_ = true;
  }
}

void ExecSession::Warn(const std::string& message) {
  WriteAll(io_.stderr_fd, absl::StrCat("attachctl: ", message, "\n"))
      .IgnoreError();
}

}  // namespace attachd::client
