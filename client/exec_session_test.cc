#include "client/exec_session.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <functional>
#include <future>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "attachd/v1/attachd.grpc.pb.h"
#include "client/exit_code.h"
#include "client/fake_services.h"
#include "client/test_support.h"
#include "common/unique_fd.h"
#include "gtest/gtest.h"

namespace attachd::client {
namespace {

using ::attachd::v1::ExecError;
using ::attachd::v1::ExecRequest;
using ::attachd::v1::ExecResponse;
using ::attachd::v1::ExecService;
using ::attachd::v1::ExecStart;

ExecStart StartIn(const std::string& container) {
  ExecStart start;
  start.set_container(container);
  start.add_argv("true");
  return start;
}

// attachd's behaviour after `exit`: wait up to 5 seconds for the half-close.
constexpr absl::Duration kHalfCloseLimit = absl::Seconds(5);

// Runs one Exec of `start` against a server running `script`.
class ExecSessionTest : public ::testing::Test {
 protected:
  ExecResult RunAgainst(ScriptedExecService::Script script,
                        const ExecStart& start) {
    ScriptedExecService service(std::move(script));
    TestServer server({&service});
    auto stub = ExecService::NewStub(server.Connect());
    ExecSession session(stub.get(), io_);
    return session.Run(start);
  }

  common::UniqueFd stdin_ = MemfdWithContents("");
  common::UniqueFd stdout_ = MemfdWithContents("");
  common::UniqueFd stderr_ = MemfdWithContents("");
  ExecIo io_ = {.stdin_fd = stdin_.get(),
                .stdout_fd = stdout_.get(),
                .stderr_fd = stderr_.get(),
                .verbose = false};
};

TEST_F(ExecSessionTest, SendsStartExactlyAndHalfClosesWithoutStdin) {
  ExecStart start;
  start.set_container("web");
  for (std::string argument :
       {std::string("printf"), std::string("%s\n"), std::string(""),
        std::string("[a,b]"), std::string("--"), std::string("\xff\xfe\x01"),
        std::string("with\0nul", 8)}) {
    start.add_argv(argument);
  }
  start.add_env("A=1");
  start.add_env("B=\xc3(");
  start.set_cwd("/tmp/\x80");
  start.set_uid(1000);
  start.set_gid(0);

  ExecStart received;
  bool half_closed_after_start = false;
  ExecResult result = RunAgainst(
      [&](grpc::ServerContext* context, ExecServerStream* stream) {
        ExecRequest request;
        EXPECT_TRUE(stream->Read(&request));
        received = request.start();
        half_closed_after_start = !stream->Read(&request);
        stream->Write(ExitCode(0));
        return grpc::Status::OK;
      },
      start);

  EXPECT_EQ(received.SerializeAsString(), start.SerializeAsString());
  EXPECT_TRUE(half_closed_after_start);
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(ExitCodeFor(result), 0);
}

TEST_F(ExecSessionTest, DeliversEachStreamExactlyToItsFd) {
  std::string binary = PatternBytes(300 * 1024);
  ExecResult result = RunAgainst(
      [&](grpc::ServerContext* context, ExecServerStream* stream) {
        ExecRequest request;
        stream->Read(&request);
        stream->Write(Stdout("out\n"));
        stream->Write(Stderr("err\n"));
        stream->Write(Stdout(binary));
        stream->Write(Stderr(std::string("\0\xff", 2)));
        stream->Write(ExitCode(3));
        WaitForHalfClose(context, stream, kHalfCloseLimit, nullptr);
        return grpc::Status::OK;
      },
      StartIn("web"));

  EXPECT_EQ(FileContents(stdout_.get()), "out\n" + binary);
  EXPECT_EQ(FileContents(stderr_.get()), "err\n" + std::string("\0\xff", 2));
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(ExitCodeFor(result), 3);
}

TEST_F(ExecSessionTest, KeepsTheOrderAcrossStdoutAndStderr) {
  io_.stderr_fd = io_.stdout_fd;
  ExecResult result = RunAgainst(
      [&](grpc::ServerContext* context, ExecServerStream* stream) {
        ExecRequest request;
        stream->Read(&request);
        for (int i = 0; i < 100; ++i) {
          std::string line = std::to_string(i) + "\n";
          stream->Write(i % 3 == 0 ? Stderr(line) : Stdout(line));
        }
        stream->Write(ExitCode(0));
        WaitForHalfClose(context, stream, kHalfCloseLimit, nullptr);
        return grpc::Status::OK;
      },
      StartIn("web"));

  std::string expected;
  for (int i = 0; i < 100; ++i) {
    expected += std::to_string(i) + "\n";
  }
  EXPECT_EQ(FileContents(stdout_.get()), expected);
  EXPECT_EQ(ExitCodeFor(result), 0);
}

// Echoes stdin back as stdout once the client closes stdin, and records
// what arrived.
struct StdinRecord {
  std::string bytes;
  size_t largest_chunk = 0;
  int stdin_closes = 0;
  bool anything_after_close = false;
  bool half_closed = false;
};

grpc::Status EchoStdin(grpc::ServerContext* context, ExecServerStream* stream,
                       StdinRecord* record) {
  ExecRequest request;
  stream->Read(&request);
  while (stream->Read(&request)) {
    if (record->stdin_closes > 0) {
      record->anything_after_close = true;
    }
    if (request.has_stdin_close()) {
      ++record->stdin_closes;
    } else {
      record->bytes += request.stdin_data();
      record->largest_chunk =
          std::max(record->largest_chunk, request.stdin_data().size());
    }
  }
  record->half_closed = !context->IsCancelled();
  stream->Write(Stdout(record->bytes));
  stream->Write(ExitCode(0));
  return grpc::Status::OK;
}

TEST_F(ExecSessionTest, ForwardsStdinInChunksThenClosesAndHalfCloses) {
  std::string input = PatternBytes(200 * 1024 + 17);
  stdin_ = MemfdWithContents(input);
  io_.stdin_fd = stdin_.get();
  ExecStart start = StartIn("web");
  start.set_attach_stdin(true);

  StdinRecord record;
  ExecResult result = RunAgainst(
      [&](grpc::ServerContext* context, ExecServerStream* stream) {
        return EchoStdin(context, stream, &record);
      },
      start);

  EXPECT_EQ(record.bytes, input);
  EXPECT_LE(record.largest_chunk, kStdinChunkSize);
  EXPECT_EQ(record.stdin_closes, 1);
  EXPECT_FALSE(record.anything_after_close);
  EXPECT_TRUE(record.half_closed);
  EXPECT_EQ(FileContents(stdout_.get()), input);
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(ExitCodeFor(result), 0);
}

// attachd sends `exit` and then waits for the half-close; a client still
// blocked on stdin would never end the call.
grpc::Status ExitAtOnce(grpc::ServerContext* context, ExecServerStream* stream,
                        bool* half_closed) {
  ExecRequest request;
  stream->Read(&request);
  stream->Write(ExitCode(7));
  *half_closed = WaitForHalfClose(context, stream, kHalfCloseLimit, nullptr);
  return grpc::Status::OK;
}

TEST_F(ExecSessionTest, HalfClosesAfterExitWhileStdinStaysOpenAndSilent) {
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  common::UniqueFd read_end(pipe_fds[0]);
  common::UniqueFd write_end(pipe_fds[1]);  // Held open: stdin never ends.
  io_.stdin_fd = read_end.get();
  ExecStart start = StartIn("web");
  start.set_attach_stdin(true);

  bool half_closed = false;
  ExecResult result = RunAgainst(
      [&](grpc::ServerContext* context, ExecServerStream* stream) {
        return ExitAtOnce(context, stream, &half_closed);
      },
      start);

  EXPECT_TRUE(half_closed);
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(ExitCodeFor(result), 7);
}

TEST_F(ExecSessionTest, HalfClosesAfterExitWhileStdinNeverEnds) {
  common::UniqueFd zero(open("/dev/zero", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(zero.valid());
  io_.stdin_fd = zero.get();
  ExecStart start = StartIn("web");
  start.set_attach_stdin(true);

  bool half_closed = false;
  ExecResult result = RunAgainst(
      [&](grpc::ServerContext* context, ExecServerStream* stream) {
        return ExitAtOnce(context, stream, &half_closed);
      },
      start);

  EXPECT_TRUE(half_closed);
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(ExitCodeFor(result), 7);
}

TEST_F(ExecSessionTest, ReportsTheKillingSignal) {
  ExecResult result = RunAgainst(
      [&](grpc::ServerContext* context, ExecServerStream* stream) {
        ExecRequest request;
        stream->Read(&request);
        stream->Write(KilledBy(SIGKILL));
        WaitForHalfClose(context, stream, kHalfCloseLimit, nullptr);
        return grpc::Status::OK;
      },
      StartIn("web"));

  EXPECT_EQ(ExitCodeFor(result), 137);
}

grpc::Status FailWithExecError(ExecError::Step step, int errno_value,
                               const std::string& message) {
  ExecError error;
  error.set_step(step);
  error.set_errno_value(errno_value);
  return grpc::Status(grpc::StatusCode::NOT_FOUND, message,
                      error.SerializeAsString());
}

TEST_F(ExecSessionTest, MapsAnExecErrorFromTheStream) {
  struct Case {
    ExecError::Step step;
    int errno_value;
    int exit_code;
  };
  for (const Case& c : {Case{ExecError::STEP_EXEC, ENOENT, 127},
                        Case{ExecError::STEP_EXEC, EACCES, 126},
                        Case{ExecError::STEP_CWD, ENOENT, 126}}) {
    SCOPED_TRACE(ExecError::Step_Name(c.step) + " errno " +
                 std::to_string(c.errno_value));
    ExecResult result = RunAgainst(
        [&](grpc::ServerContext*, ExecServerStream* stream) {
          ExecRequest request;
          stream->Read(&request);
          return FailWithExecError(c.step, c.errno_value, "cannot run nosuch");
        },
        StartIn("web"));

    EXPECT_FALSE(result.exit.has_value());
    EXPECT_EQ(result.status.error_message(), "cannot run nosuch");
    EXPECT_EQ(ExitCodeFor(result), c.exit_code);
  }
}

TEST_F(ExecSessionTest, ReportsAFailedCallWithoutDetailsAsFailure) {
  ExecResult result = RunAgainst(
      [&](grpc::ServerContext*, ExecServerStream* stream) {
        ExecRequest request;
        stream->Read(&request);
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            "container web exited");
      },
      StartIn("web"));

  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(result.status.error_message(), "container web exited");
  EXPECT_FALSE(result.daemon_answered);
  EXPECT_EQ(ExitCodeFor(result), 1);
}

TEST_F(ExecSessionTest, CancelEndsTheCallOnTheServer) {
  std::promise<void> output_sent;
  std::promise<bool> server_saw_cancel;
  ScriptedExecService service(
      [&](grpc::ServerContext* context, ExecServerStream* stream) {
        ExecRequest request;
        stream->Read(&request);
        stream->Write(Stdout("working\n"));
        output_sent.set_value();
        while (stream->Read(&request)) {
        }
        server_saw_cancel.set_value(context->IsCancelled());
        return grpc::Status::OK;
      });
  TestServer server({&service});
  auto stub = ExecService::NewStub(server.Connect());
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  common::UniqueFd read_end(pipe_fds[0]);
  common::UniqueFd write_end(pipe_fds[1]);  // Held open: stdin never ends.
  io_.stdin_fd = read_end.get();
  ExecSession session(stub.get(), io_);
  ExecStart start = StartIn("web");
  start.set_attach_stdin(true);

  std::future<ExecResult> result =
      std::async(std::launch::async, [&] { return session.Run(start); });
  output_sent.get_future().wait();
  session.Cancel();

  EXPECT_EQ(result.get().status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(server_saw_cancel.get_future().get());
}

TEST_F(ExecSessionTest, CancelsTheCallWhenTheOutputsReaderWentAway) {
  signal(SIGPIPE, SIG_IGN);
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  close(pipe_fds[0]);
  common::UniqueFd broken_stdout(pipe_fds[1]);
  io_.stdout_fd = broken_stdout.get();

  std::promise<bool> server_saw_cancel;
  ExecResult result = RunAgainst(
      [&](grpc::ServerContext* context, ExecServerStream* stream) {
        ExecRequest request;
        stream->Read(&request);
        stream->Write(Stdout("lost\n"));
        // A command with nobody reading its output is not left running:
        // the client cancels, as `yes | head` ends `yes`.
        absl::Time deadline = absl::Now() + absl::Seconds(5);
        while (!context->IsCancelled() && absl::Now() < deadline) {
          absl::SleepFor(absl::Milliseconds(10));
        }
        server_saw_cancel.set_value(context->IsCancelled());
        return grpc::Status::OK;
      },
      StartIn("web"));

  EXPECT_TRUE(server_saw_cancel.get_future().get());
  EXPECT_EQ(result.interrupt_signal, SIGPIPE);
  EXPECT_EQ(ExitCodeFor(result), 128 + SIGPIPE);
}

attachd::v1::WindowSize Size(uint32_t rows, uint32_t columns) {
  attachd::v1::WindowSize size;
  size.set_rows(rows);
  size.set_columns(columns);
  return size;
}

ExecRequest ResizeTo(uint32_t rows, uint32_t columns) {
  ExecRequest request;
  *request.mutable_resize() = Size(rows, columns);
  return request;
}

ExecRequest StdinData(const std::string& bytes) {
  ExecRequest request;
  request.set_stdin_data(bytes);
  return request;
}

ExecRequest StdinClose() {
  ExecRequest request;
  request.mutable_stdin_close();
  return request;
}

ExecRequest StartRequest(const ExecStart& start) {
  ExecRequest request;
  *request.mutable_start() = start;
  return request;
}

std::vector<std::string> Printed(const std::vector<ExecRequest>& requests) {
  std::vector<std::string> printed;
  for (const ExecRequest& request : requests) {
    printed.push_back(request.ShortDebugString());
  }
  return printed;
}

// Reads one request into `log`; false once the client has half-closed.
bool ReadInto(ExecServerStream* stream, ExecRequestLog* log) {
  ExecRequest request;
  if (!stream->Read(&request)) {
    return false;
  }
  log->Add(request);
  return true;
}

TEST_F(ExecSessionTest, TtySendsResizesAfterStartAndHalfClosesOnlyAfterExit) {
  ExecStart start = StartIn("web");
  start.set_tty(true);
  *start.mutable_window_size() = Size(24, 80);
  ExecRequestLog log;
  std::promise<void> second_resize_asked;
  bool half_closed_before_exit = false;
  bool half_closed_after_exit = false;
  ScriptedExecService service(
      [&](grpc::ServerContext* context, ExecServerStream* stream) {
        ReadInto(stream, &log);
        ReadInto(stream, &log);
        second_resize_asked.get_future().wait();
        half_closed_before_exit = !ReadInto(stream, &log);
        stream->Write(Stdout("tty\r\n"));
        stream->Write(ExitCode(0));
        half_closed_after_exit =
            WaitForHalfClose(context, stream, kHalfCloseLimit, nullptr);
        return grpc::Status::OK;
      });
  TestServer server({&service});
  auto stub = ExecService::NewStub(server.Connect());
  ExecSession session(stub.get(), io_);

  session.Resize(Size(30, 100));  // Before Run: sent right after the start.
  std::future<ExecResult> result =
      std::async(std::launch::async, [&] { return session.Run(start); });
  log.WaitUntil([](const std::vector<ExecRequest>& r) { return r.size() >= 2; },
                absl::Seconds(5));
  session.Resize(Size(40, 120));
  second_resize_asked.set_value();

  EXPECT_EQ(ExitCodeFor(result.get()), 0);
  EXPECT_EQ(
      Printed(log.requests()),
      Printed({StartRequest(start), ResizeTo(30, 100), ResizeTo(40, 120)}));
  EXPECT_FALSE(half_closed_before_exit);
  EXPECT_TRUE(half_closed_after_exit);
  EXPECT_EQ(FileContents(stdout_.get()), "tty\r\n");
}

TEST_F(ExecSessionTest, TtyKeepsTheCallOpenForResizesAfterStdinCloses) {
  stdin_ = MemfdWithContents("ls\r");
  io_.stdin_fd = stdin_.get();
  ExecStart start = StartIn("web");
  start.set_tty(true);
  start.set_attach_stdin(true);
  ExecRequestLog log;
  std::promise<void> resize_asked;
  ScriptedExecService service(
      [&](grpc::ServerContext* context, ExecServerStream* stream) {
        for (int i = 0; i < 3; ++i) {
          ReadInto(stream, &log);
        }
        resize_asked.get_future().wait();
        ReadInto(stream, &log);
        stream->Write(ExitCode(0));
        WaitForHalfClose(context, stream, kHalfCloseLimit, nullptr);
        return grpc::Status::OK;
      });
  TestServer server({&service});
  auto stub = ExecService::NewStub(server.Connect());
  ExecSession session(stub.get(), io_);

  std::future<ExecResult> result =
      std::async(std::launch::async, [&] { return session.Run(start); });
  log.WaitUntil([](const std::vector<ExecRequest>& r) { return r.size() >= 3; },
                absl::Seconds(5));
  session.Resize(Size(50, 132));
  resize_asked.set_value();

  EXPECT_EQ(ExitCodeFor(result.get()), 0);
  EXPECT_EQ(Printed(log.requests()),
            Printed({StartRequest(start), StdinData("ls\r"), StdinClose(),
                     ResizeTo(50, 132)}));
}

TEST_F(ExecSessionTest, WithoutTtyIgnoresResize) {
  ExecStart start = StartIn("web");
  ExecRequestLog log;
  bool half_closed_after_start = false;
  ScriptedExecService service(
      [&](grpc::ServerContext*, ExecServerStream* stream) {
        ReadInto(stream, &log);
        half_closed_after_start = !ReadInto(stream, &log);
        stream->Write(ExitCode(0));
        return grpc::Status::OK;
      });
  TestServer server({&service});
  auto stub = ExecService::NewStub(server.Connect());
  ExecSession session(stub.get(), io_);

  session.Resize(Size(30, 100));
  ExecResult result = session.Run(start);

  EXPECT_TRUE(half_closed_after_start);
  EXPECT_EQ(Printed(log.requests()), Printed({StartRequest(start)}));
  EXPECT_EQ(ExitCodeFor(result), 0);
}

TEST_F(ExecSessionTest, DetachHalfClosesAtOnceAndReturnsThePids) {
  ExecStart start = StartIn("web");
  start.set_detach(true);
  bool half_closed_after_start = false;
  ExecResult result = RunAgainst(
      [&](grpc::ServerContext* context, ExecServerStream* stream) {
        ExecRequest request;
        stream->Read(&request);
        half_closed_after_start = !stream->Read(&request);
        ExecResponse started;
        started.mutable_started()->set_pid(4242);
        started.mutable_started()->set_container_pid(7);
        stream->Write(started);
        return grpc::Status::OK;
      },
      start);

  EXPECT_TRUE(half_closed_after_start);
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_TRUE(result.started.has_value());
  EXPECT_EQ(result.started->pid(), 4242);
  EXPECT_EQ(result.started->container_pid(), 7);
  EXPECT_FALSE(result.exit.has_value());
}

}  // namespace
}  // namespace attachd::client
