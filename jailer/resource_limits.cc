#include "jailer/resource_limits.h"

#include <sys/resource.h>

#include <cerrno>
#include <string>

#include "base/errno_error.h"

namespace ember::jailer {

Result<uint64_t> parse_decimal_u64(std::string_view text) {
  if (text.empty()) return make_error("empty number");
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return make_error("'" + std::string(text) + "' is not a decimal number");
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return make_error("'" + std::string(text) + "' is too large");
    value = value * 10 + digit;
  }
  return value;
}

Result<void> parse_resource_limit(std::string_view text, ResourceLimits* limits) {
  const std::string context = "--resource-limit '" + std::string(text) + "'";
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos)
    return make_error(context + ": expected <resource>=<value>, e.g. no-file=1024");
  const std::string_view name = text.substr(0, eq);
  auto value = parse_decimal_u64(text.substr(eq + 1));
  if (!value) return with_context(context, value.error());
  // RLIM_INFINITY is all ones: a number that large would silently mean "no limit".
  if (*value >= RLIM_INFINITY) return make_error(context + ": value is too large");
  if (name == "fsize") {
    if (limits->fsize) return make_error(context + ": fsize is given twice");
    limits->fsize = *value;
  } else if (name == "no-file") {
    if (limits->no_file_given) return make_error(context + ": no-file is given twice");
    if (*value == 0) return make_error(context + ": no-file must be at least 1");
    limits->no_file = *value;
    limits->no_file_given = true;
  } else {
    return make_error(context + ": unknown resource '" + std::string(name) + "' (known: fsize, no-file)");
  }
  return {};
}

namespace {

enum class Hard { kKeepUnlessBelow, kToValue };

Result<void> set_limit(int resource, const char* name, uint64_t value, Hard hard) {
  rlimit limit{};
  if (::getrlimit(resource, &limit) != 0) return errno_error(std::string("getrlimit ") + name);
  limit.rlim_cur = static_cast<rlim_t>(value);
  if (hard == Hard::kToValue || limit.rlim_max < limit.rlim_cur) limit.rlim_max = limit.rlim_cur;
  if (::setrlimit(resource, &limit) != 0) {
    const int err = errno;
    Error error = errno_error(std::string("setrlimit ") + name + "=" + std::to_string(value));
    if (resource == RLIMIT_NOFILE && err == EPERM) error.message += " (above the kernel's fs.nr_open?)";
    return error;
  }
  return {};
}

Result<void> set_limits(const ResourceLimits& limits, Hard hard) {
  if (limits.fsize) TRY(set_limit(RLIMIT_FSIZE, "fsize", *limits.fsize, hard));
  TRY(set_limit(RLIMIT_NOFILE, "no-file", limits.no_file, hard));
  return {};
}

}  // namespace

Result<void> apply_resource_limits(const ResourceLimits& limits) { return set_limits(limits, Hard::kKeepUnlessBelow); }

Result<void> lock_resource_limits(const ResourceLimits& limits) { return set_limits(limits, Hard::kToValue); }

Result<SavedResourceLimits> SavedResourceLimits::save() {
  rlimit fsize{}, no_file{};
  if (::getrlimit(RLIMIT_FSIZE, &fsize) != 0 || ::getrlimit(RLIMIT_NOFILE, &no_file) != 0)
    return errno_error("getrlimit");
  SavedResourceLimits saved;
  saved.fsize_cur_ = fsize.rlim_cur;
  saved.fsize_max_ = fsize.rlim_max;
  saved.no_file_cur_ = no_file.rlim_cur;
  saved.no_file_max_ = no_file.rlim_max;
  return saved;
}

Result<void> SavedResourceLimits::restore() const {
  const rlimit fsize{static_cast<rlim_t>(fsize_cur_), static_cast<rlim_t>(fsize_max_)};
  const rlimit no_file{static_cast<rlim_t>(no_file_cur_), static_cast<rlim_t>(no_file_max_)};
  if (::setrlimit(RLIMIT_FSIZE, &fsize) != 0) return errno_error("restoring the fsize limit");
  if (::setrlimit(RLIMIT_NOFILE, &no_file) != 0) return errno_error("restoring the no-file limit");
  return {};
}

}  // namespace ember::jailer
