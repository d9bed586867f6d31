#include "snapshot/byte_codec.h"

namespace ember {

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

Error ByteReader::error(const char* what, const std::string& problem) const {
  return make_error(std::string(what) + " (at byte " + std::to_string(pos_) + " of the state) " + problem);
}

Result<void> ByteReader::raw(const char* what, void* out, size_t n) {
  if (n > remaining())
    return error(what, "is cut short: " + std::to_string(n) + " bytes needed, " +
                           std::to_string(remaining()) + " left");
  if (n > 0) std::memcpy(out, in_.data() + pos_, n);
  pos_ += n;
  return {};
}

template <class T>
Result<T> ByteReader::integer(const char* what) {
  T v = 0;
  TRY(raw(what, &v, sizeof v));
  return v;
}

Result<uint8_t> ByteReader::u8(const char* what) { return integer<uint8_t>(what); }
Result<uint16_t> ByteReader::u16(const char* what) { return integer<uint16_t>(what); }
Result<uint32_t> ByteReader::u32(const char* what) { return integer<uint32_t>(what); }
Result<uint64_t> ByteReader::u64(const char* what) { return integer<uint64_t>(what); }

Result<bool> ByteReader::boolean(const char* what) {
  ASSIGN_OR_RETURN(uint8_t v, u8(what));
  if (v > 1) return error(what, "is " + std::to_string(v) + ", not 0 or 1");
  return v == 1;
}

Result<std::vector<uint8_t>> ByteReader::bytes(const char* what, size_t max) {
  ASSIGN_OR_RETURN(uint32_t size, u32(what));
  if (size > max) return error(what, "is " + std::to_string(size) + " bytes, more than " + std::to_string(max));
  if (size > remaining())
    return error(what, "is cut short: " + std::to_string(size) + " bytes needed, " +
                           std::to_string(remaining()) + " left");
  std::vector<uint8_t> v(in_.begin() + static_cast<std::ptrdiff_t>(pos_),
                         in_.begin() + static_cast<std::ptrdiff_t>(pos_ + size));
  pos_ += size;
  return v;
}

Result<std::string> ByteReader::str(const char* what, size_t max) {
  ASSIGN_OR_RETURN(std::vector<uint8_t> b, bytes(what, max));
  return std::string(b.begin(), b.end());
}

Result<uint32_t> ByteReader::count(const char* what, size_t min_item_size, uint32_t max) {
  ASSIGN_OR_RETURN(uint32_t n, u32(what));
  if (n > max) return error(what, "is " + std::to_string(n) + ", more than " + std::to_string(max));
  if (min_item_size > 0 && n > remaining() / min_item_size)
    return error(what, "is " + std::to_string(n) + ", more than the rest of the state can hold");
  return n;
}

Result<void> ByteReader::expect_end() const {
  if (remaining() != 0)
    return make_error("the state has " + std::to_string(remaining()) +
                      " unexpected bytes at its end (written by another ember version?)");
  return {};
}

}  // namespace ember
