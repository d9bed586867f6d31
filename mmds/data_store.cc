#include "mmds/data_store.h"

#include <charconv>
#include <utility>

#include "mmds/json_tools.h"
#include "mmds/merge_patch.h"

namespace ember {

using nlohmann::json;

namespace {

constexpr const char* kTooLargeMessage = "The MMDS patch request doesn't fit.";

// One reference token of a JSON pointer, unescaped as serde_json's pointer() does ("~1" then
// "~0"), so that a stray "~" stays a literal character rather than an error.
std::string unescape_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
      out.push_back(token[i + 1] == '1' ? '/' : '~');
      ++i;
    } else {
      out.push_back(token[i]);
    }
  }
  return out;
}

// An array index: decimal digits, no sign, no leading zero (RFC 6901 §4).
bool parse_index(std::string_view token, size_t& index) {
  if (token.empty() || (token.size() > 1 && token[0] == '0')) return false;
  for (char c : token)
    if (c < '0' || c > '9') return false;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
  return ec == std::errc() && end == token.data() + token.size();
}

// RFC 6901 evaluation; nullptr when the pointer does not resolve.
const json* resolve(const json& root, std::string_view pointer) {
  if (pointer.empty()) return &root;
  if (pointer.front() != '/') return nullptr;
  const json* node = &root;
  pointer.remove_prefix(1);
  while (true) {
    size_t slash = pointer.find('/');
    std::string_view raw = pointer.substr(0, slash);
    if (node->is_object()) {
      const auto& members = node->get_ref<const json::object_t&>();
      auto it = members.find(unescape_token(raw));
      if (it == members.end()) return nullptr;
      node = &it->second;
    } else if (node->is_array()) {
      size_t index = 0;
      if (!parse_index(raw, index) || index >= node->size()) return nullptr;
      node = &(*node)[index];
    } else {
      return nullptr;
    }
    if (slash == std::string_view::npos) return node;
    pointer.remove_prefix(slash + 1);
  }
}

// EC2 IMDS's text format: an object's keys one per line, "/" after those whose value is an
// object; a string's own text; nothing else.
Result<std::string> format_imds(const json& value) {
  if (value.is_object()) {
    std::string out;
    for (const auto& [key, child] : value.get_ref<const json::object_t&>()) {
      if (!out.empty()) out.push_back('\n');
      out += key;
      if (child.is_object()) out.push_back('/');
    }
    return out;
  }
  if (value.is_string()) return value.get<std::string>();
  return make_error(ErrorKind::kInvalid, std::string(kMmdsUnsupportedType));
}

}  // namespace

MmdsDataStore::MmdsDataStore(size_t size_limit, const MonotonicClock& clock)
    : size_limit_(size_limit), tokens_(clock) {}

Result<void> MmdsDataStore::put(json data) {
  // Measured outside the lock: the serialisation is the slow part and reads only `data`.
  if (dump_compact(data).size() > size_limit_)
    return make_error(ErrorKind::kTooLarge, kTooLargeMessage);
  std::lock_guard lock(mutex_);
  data_ = std::move(data);
  initialized_ = true;
  return {};
}

Result<void> MmdsDataStore::patch(const json& patch) {
  std::lock_guard lock(mutex_);
  if (!initialized_)
    return make_error(ErrorKind::kInvalid, "The MMDS data store is not initialized.");
  // Patched on a copy, so that a patch over the limit leaves the store as it was.
  json patched = copy_json(data_);
  merge_patch(patched, patch);
  if (dump_compact(patched).size() > size_limit_)
    return make_error(ErrorKind::kTooLarge, kTooLargeMessage);
  data_ = std::move(patched);
  return {};
}

json MmdsDataStore::get() const {
  std::lock_guard lock(mutex_);
  if (data_.is_null()) return json::object();
  return copy_json(data_);
}

std::string MmdsDataStore::text() const {
  std::lock_guard lock(mutex_);
  if (data_.is_null()) return "{}";
  return dump_compact(data_);
}

void MmdsDataStore::configure(MmdsVersion version, bool imds_compat) {
  std::lock_guard lock(mutex_);
  version_ = version;
  imds_compat_ = imds_compat;
}

MmdsVersion MmdsDataStore::version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

bool MmdsDataStore::imds_compat() const {
  std::lock_guard lock(mutex_);
  return imds_compat_;
}

size_t MmdsDataStore::size_limit() const { return size_limit_; }

Result<std::string> MmdsDataStore::get_value(std::string_view path, MmdsFormat format) const {
  // Firecracker drops one trailing "/": "/latest/" names the same node as "/latest".
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  std::lock_guard lock(mutex_);
  const json* value = resolve(data_, path);
  if (value == nullptr) return make_error(ErrorKind::kInvalid, std::string(kMmdsNotFound));
  if (imds_compat_ || format == MmdsFormat::kImds) return format_imds(*value);
  return dump_compact(*value);
}

Result<std::string> MmdsDataStore::generate_token(uint32_t ttl_seconds) {
  std::lock_guard lock(mutex_);
  return tokens_.generate(ttl_seconds);
}

bool MmdsDataStore::is_valid_token(std::string_view token) const {
  std::lock_guard lock(mutex_);
  return tokens_.is_valid(token);
}

}  // namespace ember
