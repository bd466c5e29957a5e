// CommandEnv: where an attachctl subcommand writes, and what it needs to
// word its errors.

#ifndef ATTACHD_CLIENT_COMMAND_ENV_H_
#define ATTACHD_CLIENT_COMMAND_ENV_H_

#include <chrono>
#include <iostream>
#include <string>

namespace attachd::client {

// Unary calls give up after this long; Exec and Watch have no deadline.
inline constexpr std::chrono::seconds kUnaryCallTimeout(10);

struct CommandEnv {
  // The daemon's socket, for "cannot connect" messages.
  std::string socket_path;
  // Results.
  std::ostream* out = &std::cout;
  // Error lines, one per failure.
  std::ostream* err = &std::cerr;
};

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_COMMAND_ENV_H_
