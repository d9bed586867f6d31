// The outcome of one `emberctl run` / `pool run`, and its --json form.
#pragma once

#include <optional>
#include <string>

namespace ember::ctl {

struct RunReport {
  int exit_code = 0;                      // what emberctl exits with
  std::optional<int> command_exit_code;   // the command's exit status, when it exited
  std::optional<int> signal;              // the signal that ended the command
  std::string error;                      // emberctl's own failure, "" when none
  bool timed_out = false;
  double start_s = 0;    // emberctl start -> VM started (InstanceStart / snapshot loaded)
  double ready_s = 0;    // VM started -> the agent answered
  double command_s = 0;  // the command itself
  double total_s = 0;
  std::string kept_scratch;  // --keep: the folder left behind
  // Not in the JSON: the command's stdout ended without a newline (the JSON line then starts
  // on a new line of its own).
  bool stdout_open_line = false;
};

// One line of JSON: {"exit_code":..,"command_exit_code":..|null,"signal":..|null,"error":..|null,
// "timed_out":..,"durations_s":{"start":..,"ready":..,"command":..,"total":..}[,"scratch":..]}.
[[nodiscard]] std::string report_json(const RunReport& report);

}  // namespace ember::ctl
