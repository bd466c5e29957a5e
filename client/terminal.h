// The local terminal as `attachctl exec -t` uses it: its size, and raw
// mode for the length of an exec.
//
// Descriptors are borrowed: nothing here opens or closes one.

#ifndef ATTACHD_CLIENT_TERMINAL_H_
#define ATTACHD_CLIENT_TERMINAL_H_

#include <termios.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"

namespace attachd::client {

struct TerminalSize {
  uint16_t rows = 0;
  uint16_t columns = 0;

  bool operator==(const TerminalSize& other) const {
    return rows == other.rows && columns == other.columns;
  }
};

// What `attachctl exec -t` asks for when neither stdout nor stdin is a
// terminal that knows its size: the classic VT100 screen, as docker does.
inline constexpr TerminalSize kDefaultTerminalSize = {24, 80};

// The size of the terminal on `fd` (ioctl TIOCGWINSZ), or nullopt when `fd`
// is not a terminal or reports 0 rows or 0 columns (a pseudo-terminal that
// nobody sized).  Any thread.
std::optional<TerminalSize> TerminalSizeOf(int fd);

// The size to give the command's terminal: that of stdout's terminal, where
// the command's output shows (as `docker exec -t` measures it), else that
// of stdin's, else kDefaultTerminalSize.  Any thread.
TerminalSize LocalTerminalSize(int stdin_fd, int stdout_fd);

// Raw mode (cfmakeraw(3)) on one terminal for as long as the object lives:
// every byte typed, Ctrl-C (0x03) and Ctrl-Z included, reaches the reader
// as it is typed instead of raising a signal, and output is not translated
// (no "\n" to "\r\n").
//
// The termios saved on entry is restored, with TCSANOW, by the destructor,
// and also by an atexit(3) handler if the process leaves through exit()
// while the mode is active.  Whichever comes first restores; the other
// does nothing.
//
// Limitation: a process killed by a signal it does not catch (SIGKILL,
// SIGQUIT, a crash) or stopped (SIGSTOP) leaves the terminal raw; `stty
// sane` or `reset` repairs it.
//
// Threads: Enter() and the destructor run on one thread (the main thread
// in attachctl), and at most one object exists at a time.
class RawTerminalMode {
 public:
  // Saves the termios of `fd` and puts it in raw mode.
  // FAILED_PRECONDITION when `fd` is not a terminal or another
  // RawTerminalMode is active; INTERNAL when tcgetattr(3) or tcsetattr(3)
  // fails otherwise.  On error the terminal is as it was.
  static absl::StatusOr<std::unique_ptr<RawTerminalMode>> Enter(int fd);

  RawTerminalMode(const RawTerminalMode&) = delete;
  RawTerminalMode& operator=(const RawTerminalMode&) = delete;
  // Restores the saved termios; a terminal that went away (hangup) is
  // ignored.
  ~RawTerminalMode();

 private:
  RawTerminalMode() = default;
};

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_TERMINAL_H_
