#include "client/terminal.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace attachd::client {
namespace {

// The one terminal in raw mode.  `raw_fd` and `saved_termios` are written
// before `raw_active` is set and read only by whoever clears it, so the
// destructor and the atexit handler (which may run on another thread that
// called exit()) never both restore.
std::atomic<bool> raw_active{false};
int raw_fd = -1;
struct termios saved_termios;

// tcsetattr(3) on a terminal can be interrupted by a signal handler (the
// SignalWatcher's) before it has changed anything.
int SetTermios(int fd, const struct termios& termios) {
  int result;
  do {
    result = tcsetattr(fd, TCSANOW, &termios);
  } while (result != 0 && errno == EINTR);
  return result;
}

void RestoreSavedTermios() {
  if (raw_active.exchange(false)) {
    SetTermios(raw_fd, saved_termios);
  }
}

void RegisterAtExitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { atexit(RestoreSavedTermios); });
}

}  // namespace

std::optional<TerminalSize> TerminalSizeOf(int fd) {
  struct winsize size = {};
  if (ioctl(fd, TIOCGWINSZ, &size) != 0 || size.ws_row == 0 ||
      size.ws_col == 0) {
    return std::nullopt;
  }
  return TerminalSize{size.ws_row, size.ws_col};
}

TerminalSize LocalTerminalSize(int stdin_fd, int stdout_fd) {
  for (int fd : {stdout_fd, stdin_fd}) {
    std::optional<TerminalSize> size = TerminalSizeOf(fd);
    if (size.has_value()) {
      return *size;
    }
  }
  return kDefaultTerminalSize;
}

absl::StatusOr<std::unique_ptr<RawTerminalMode>> RawTerminalMode::Enter(
    int fd) {
  if (raw_active.load()) {
    return absl::FailedPreconditionError(
        "a terminal is already in raw mode in this process");
  }
  struct termios original;
  if (tcgetattr(fd, &original) != 0) {
    int error = errno;
    std::string message =
        absl::StrCat("tcgetattr(fd ", fd, "): ", strerror(error));
    return error == ENOTTY ? absl::FailedPreconditionError(message)
                           : absl::InternalError(message);
  }

  RegisterAtExitOnce();
  raw_fd = fd;
  saved_termios = original;
  raw_active.store(true);

  struct termios raw = original;
  cfmakeraw(&raw);
  if (SetTermios(fd, raw) != 0) {
    int error = errno;
    RestoreSavedTermios();  // tcsetattr may have applied part of it.
    return absl::InternalError(
        absl::StrCat("tcsetattr(fd ", fd, ", raw): ", strerror(error)));
  }
  return std::unique_ptr<RawTerminalMode>(new RawTerminalMode());
}

RawTerminalMode::~RawTerminalMode() { RestoreSavedTermios(); }

}  // namespace attachd::client
