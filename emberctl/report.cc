#include "emberctl/report.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace ember::ctl {

std::string report_json(const RunReport& r) {
  using nlohmann::json;
  auto seconds = [](double s) { return std::round(s * 1000.0) / 1000.0; };
  json j;
  j["exit_code"] = r.exit_code;
  j["command_exit_code"] = r.command_exit_code ? json(*r.command_exit_code) : json(nullptr);
  j["signal"] = r.signal ? json(*r.signal) : json(nullptr);
  j["error"] = r.error.empty() ? json(nullptr) : json(r.error);
  j["timed_out"] = r.timed_out;
  j["durations_s"] = {{"start", seconds(r.start_s)},
                      {"ready", seconds(r.ready_s)},
                      {"command", seconds(r.command_s)},
                      {"total", seconds(r.total_s)}};
  if (!r.kept_scratch.empty()) j["scratch"] = r.kept_scratch;
  // Messages may quote guest bytes: never fail on invalid UTF-8.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace ember::ctl
