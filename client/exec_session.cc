#include "client/exec_session.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
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

namespace {

void AddOne(int eventfd) {
  uint64_t one = 1;
  while (write(eventfd, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

}  // namespace

// The eventfds are made here, not in Run(), so that Resize() and Cancel()
// work from the moment the session exists.
ExecSession::ExecSession(attachd::v1::ExecService::StubInterface* stub,
                         ExecIo io)
    : stub_(stub),
      io_(io),
      wake_fd_(eventfd(0, EFD_CLOEXEC)),
      resize_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

void ExecSession::Resize(const attachd::v1::WindowSize& size) {
  absl::MutexLock lock(&resize_mutex_);
  pending_resize_ = size;
  AddOne(resize_fd_.get());
}

ExecResult ExecSession::Run(const ExecStart& start) {
  ExecResult result;
  if (!wake_fd_.valid() || !resize_fd_.valid()) {
    result.status = grpc::Status(grpc::StatusCode::INTERNAL,
                                 absl::StrCat("eventfd: ", strerror(errno)));
    return result;
  }

  stream_ = stub_->Exec(&context_);
  ExecRequest request;
  *request.mutable_start() = start;
  bool start_sent = stream_->Write(request);
  bool needs_writer = start.attach_stdin() || start.tty();
  if (start_sent && needs_writer && !start.detach()) {
    writer_thread_ = std::thread(&ExecSession::ForwardInput, this,
                                 start.attach_stdin(), start.tty());
  } else {
    stream_->WritesDone();
    half_closed_ = true;
  }

  result.exit = ReadUntilExit(&result);
  StopWriterAndHalfClose();
  if (result.exit.has_value()) {
    DrainAfterExit();
  }

  result.status = stream_->Finish();
  return result;
}

std::optional<ExitStatus> ExecSession::ReadUntilExit(ExecResult* result) {
  ExecResponse response;
  while (stream_->Read(&response)) {
    result->daemon_answered = true;
    switch (response.message_case()) {
      case ExecResponse::kStarted:
        result->started = response.started();
        ReportStarted(response.started());
        break;
      case ExecResponse::kStdoutData:
        WriteOutput(io_.stdout_fd, response.stdout_data(), &stdout_open_,
                    result);
        break;
      case ExecResponse::kStderrData:
        WriteOutput(io_.stderr_fd, response.stderr_data(), &stderr_open_,
                    result);
        break;
      case ExecResponse::kExit:
        return response.exit();
      case ExecResponse::MESSAGE_NOT_SET:
        break;  // A message added after this client was written.
    }
  }
  return std::nullopt;
}

void ExecSession::WriteOutput(int fd, const std::string& bytes, bool* open,
                              ExecResult* result) {
  if (!*open) {
    return;
  }

  absl::Status status = WriteAll(fd, bytes);
  if (status.ok()) {
    return;
  }
  *open = false;

  // The reader went away (`attachctl exec ... | head`): end as a local
  // command would on SIGPIPE, and let the daemon kill the command rather
  // than have it run on with nobody reading.
  if (absl::IsFailedPrecondition(status)) {
    if (result->interrupt_signal == 0) {
      result->interrupt_signal = SIGPIPE;
    }
    Cancel();
    return;
  }
  Warn(absl::StrCat("writing the command's output: ", status.message(),
                    "; discarding the rest of that stream"));
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

// The writer thread.  A failed Write() means the call is over; Read() on
// the calling thread sees why.
void ExecSession::ForwardInput(bool attach_stdin, bool tty) {
  bool stdin_open = attach_stdin;
  std::string chunk;
  while (true) {
    InputEvent event = WaitForInput(stdin_open, tty, &chunk);
    ExecRequest request;
    switch (event) {
      case InputEvent::kWoken:
        return;
      case InputEvent::kNothing:
        continue;
      case InputEvent::kResize:
        if (!SendResize()) {
          return;
        }
        continue;
      case InputEvent::kData:
        request.set_stdin_data(chunk);
        if (!stream_->Write(request)) {
          return;
        }
        continue;
      case InputEvent::kEndOfFile:
        stdin_open = false;
        request.mutable_stdin_close();
        if (!stream_->Write(request)) {
          return;
        }
        break;
    }

    // End of stdin.  Only a terminal still has something to say.
    if (!tty) {
      stream_->WritesDone();
      half_closed_ = true;
      return;
    }
  }
}

// Waits for the wake eventfd, the resize eventfd (with `tty`) and stdin
// (while `stdin_open`) together, so that the thread never sits in a
// read(2) of stdin that nothing could interrupt.  The wake eventfd comes
// first: after `exit`, nothing more is sent.  poll(2) skips the entries
// whose fd is -1.
ExecSession::InputEvent ExecSession::WaitForInput(bool stdin_open, bool tty,
                                                  std::string* chunk) {
  while (true) {
    struct pollfd fds[3] = {
        {.fd = wake_fd_.get(), .events = POLLIN, .revents = 0},
        {.fd = tty ? resize_fd_.get() : -1, .events = POLLIN, .revents = 0},
        {.fd = stdin_open ? io_.stdin_fd : -1, .events = POLLIN, .revents = 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      Warn(absl::StrCat("poll(stdin): ", strerror(errno),
                        "; closing the command's stdin"));
      return InputEvent::kEndOfFile;
    }
    if (fds[0].revents != 0) {
      return InputEvent::kWoken;
    }
    if (fds[1].revents != 0) {
      return InputEvent::kResize;
    }
    if (fds[2].revents != 0) {
      return ReadStdin(chunk);
    }
  }
}

// Returns kData, kEndOfFile, or kNothing when there was nothing to read
// after all (EINTR, EAGAIN).
ExecSession::InputEvent ExecSession::ReadStdin(std::string* chunk) {
  chunk->resize(kStdinChunkSize);
  ssize_t count = read(io_.stdin_fd, chunk->data(), chunk->size());
  if (count > 0) {
    chunk->resize(static_cast<size_t>(count));
    return InputEvent::kData;
  }
  if (count < 0 && (errno == EINTR || errno == EAGAIN)) {
    return InputEvent::kNothing;
  }
  if (count < 0) {
    Warn(absl::StrCat("reading stdin: ", strerror(errno),
                      "; closing the command's stdin"));
  }
  return InputEvent::kEndOfFile;
}

// Sends the latest size asked for, if any is left: the eventfd may count
// Resize() calls whose size an earlier message already carried.
bool ExecSession::SendResize() {
  uint64_t ignored;
  while (read(resize_fd_.get(), &ignored, sizeof(ignored)) < 0 &&
         errno == EINTR) {
  }
  std::optional<attachd::v1::WindowSize> size;
  {
    absl::MutexLock lock(&resize_mutex_);
    size.swap(pending_resize_);
  }
  if (!size.has_value()) {
    return true;
  }

  ExecRequest request;
  *request.mutable_resize() = *size;
  return stream_->Write(request);
}

void ExecSession::StopWriterAndHalfClose() {
  if (writer_thread_.joinable()) {
    AddOne(wake_fd_.get());
    writer_thread_.join();
  }

  if (!half_closed_) {
    stream_->WritesDone();
    half_closed_ = true;
  }
}

void ExecSession::Warn(const std::string& message) {
  WriteAll(io_.stderr_fd, absl::StrCat("attachctl: ", message,
                                       io_.raw_terminal ? "\r\n" : "\n"))
      .IgnoreError();
}

}  // namespace attachd::client
