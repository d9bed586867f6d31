#include "base/byte_codec.h"

namespace ember {

void ByteWriter::little_endian(uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void ByteWriter::raw(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  out_.insert(out_.end(), b, b + n);
}

void ByteWriter::bytes(std::span<const uint8_t> data) {
  u32(static_cast<uint32_t>(data.size()));
  raw(data.data(), data.size());
}

void ByteWriter::str(std::string_view s) {
  bytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

Error ByteReader::error(std::string_view what, const std::string& problem) const {
  return make_error(std::string(what) + " (at byte " + std::to_string(pos_) + " of " + subject_ + ") " + problem);
}

Error ByteReader::cut_short(std::string_view what, size_t needed) const {
  return error(what, "is cut short: " + std::to_string(needed) + " bytes needed, " + std::to_string(remaining()) +
                         " left");
}

Result<void> ByteReader::raw(std::string_view what, void* out, size_t n) {
  if (n > remaining()) return cut_short(what, n);
  if (n > 0) std::memcpy(out, in_.data() + pos_, n);
  pos_ += n;
  return {};
}

Result<uint64_t> ByteReader::little_endian(std::string_view what, size_t n) {
  if (n > remaining()) return cut_short(what, n);
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(in_[pos_ + i]) << (8 * i);
  pos_ += n;
  return v;
}

Result<uint8_t> ByteReader::u8(std::string_view what) {
  ASSIGN_OR_RETURN(uint64_t v, little_endian(what, 1));
  return static_cast<uint8_t>(v);
}

Result<uint16_t> ByteReader::u16(std::string_view what) {
  ASSIGN_OR_RETURN(uint64_t v, little_endian(what, 2));
  return static_cast<uint16_t>(v);
}

Result<uint32_t> ByteReader::u32(std::string_view what) {
  ASSIGN_OR_RETURN(uint64_t v, little_endian(what, 4));
  return static_cast<uint32_t>(v);
}

Result<uint64_t> ByteReader::u64(std::string_view what) { return little_endian(what, 8); }

Result<int32_t> ByteReader::i32(std::string_view what) {
  ASSIGN_OR_RETURN(uint32_t v, u32(what));
  return static_cast<int32_t>(v);
}

Result<bool> ByteReader::boolean(std::string_view what) {
  ASSIGN_OR_RETURN(uint8_t v, u8(what));
  if (v > 1) return error(what, "is " + std::to_string(v) + ", not 0 or 1");
  return v == 1;
}

Result<std::vector<uint8_t>> ByteReader::bytes(std::string_view what, size_t max) {
  ASSIGN_OR_RETURN(uint32_t size, u32(what));
  if (size > max) return error(what, "is " + std::to_string(size) + " bytes, more than " + std::to_string(max));
  if (size > remaining()) return cut_short(what, size);
  std::vector<uint8_t> v(in_.begin() + static_cast<std::ptrdiff_t>(pos_),
                         in_.begin() + static_cast<std::ptrdiff_t>(pos_ + size));
  pos_ += size;
  return v;
}

Result<std::string> ByteReader::str(std::string_view what, size_t max) {
  ASSIGN_OR_RETURN(std::vector<uint8_t> b, bytes(what, max));
  return std::string(b.begin(), b.end());
}

Result<uint32_t> ByteReader::count(std::string_view what, size_t min_item_size, uint32_t max) {
  ASSIGN_OR_RETURN(uint32_t n, u32(what));
  if (n > max) return error(what, "is " + std::to_string(n) + ", more than " + std::to_string(max));
  if (min_item_size > 0 && n > remaining() / min_item_size)
    return error(what, "is " + std::to_string(n) + ", more than the rest of " + subject_ + " can hold");
  return n;
}

Result<void> ByteReader::expect_end() const {
  if (remaining() != 0)
    return make_error(subject_ + " has " + std::to_string(remaining()) +
                      " unexpected bytes at its end (written by another ember version?)");
  return {};
}

}  // namespace ember
