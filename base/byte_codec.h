// One binary encoding, shared by a snapshot's state (snapshot/, vmm/snapshot/) and the guest
// agent's frame payloads (agent/protocol.h): little-endian integers, byte strings as a u32 length
// and the bytes, fixed-size plain structs prefixed by their u32 size. The reader treats its input
// as hostile: every read is bounds checked and a failure names what was being read and where.
//
// The agent is built with g++ alone from its sources (scripts/build-guest-artifacts.sh), so this
// codec includes nothing of ours but the header-only base/result.h.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "base/result.h"

namespace ember {

// Whether every byte of a T is a value: bytes the compiler leaves undefined (padding) must not
// reach a file, nor make two encodings of one state differ. Specialize it for a struct whose
// only exception is a union all of whose bytes one member covers.
template <class T>
inline constexpr bool kPaddingFree = std::has_unique_object_representations_v<T>;

class ByteWriter {
 public:
  void u8(uint8_t v) { little_endian(v, 1); }
  void u16(uint16_t v) { little_endian(v, 2); }
  void u32(uint32_t v) { little_endian(v, 4); }
  void u64(uint64_t v) { little_endian(v, 8); }
  // Two's complement, as a u32.
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  // u32 length, then the bytes.
  void bytes(std::span<const uint8_t> data);
  void str(std::string_view s);
  // A trivially copyable struct as it lies in memory (kernel ABI structs, device states; x86-64
  // is little-endian, the format's byte order), prefixed by its size so that a reader built
  // with another layout notices.
  template <class T>
  void pod(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    static_assert(kPaddingFree<T>, "a struct with padding: make the padding explicit fields");
    u32(static_cast<uint32_t>(sizeof(T)));
    raw(&v, sizeof(T));
  }

  // u32 count, then each struct as pod() writes it.
  template <class T>
  void pods(const std::vector<T>& items) {
    u32(static_cast<uint32_t>(items.size()));
    for (const T& item : items) pod(item);
  }

  [[nodiscard]] const std::vector<uint8_t>& data() const { return out_; }
  [[nodiscard]] std::vector<uint8_t> take() { return std::move(out_); }

 private:
  // The low `n` bytes of `v`, least significant first: the same bytes on any host.
  void little_endian(uint64_t v, size_t n);
  void raw(const void* p, size_t n);
  std::vector<uint8_t> out_;
};

class ByteReader {
 public:
  // `subject` names the whole input in errors ("the EXEC payload"); the default is what the
  // snapshot's state files call theirs.
  explicit ByteReader(std::span<const uint8_t> in, std::string subject = "the state")
      : in_(in), subject_(std::move(subject)) {}

  [[nodiscard]] Result<uint8_t> u8(std::string_view what);
  [[nodiscard]] Result<uint16_t> u16(std::string_view what);
  [[nodiscard]] Result<uint32_t> u32(std::string_view what);
  [[nodiscard]] Result<uint64_t> u64(std::string_view what);
  [[nodiscard]] Result<int32_t> i32(std::string_view what);
  // Only 0 or 1.
  [[nodiscard]] Result<bool> boolean(std::string_view what);
  // At most `max` bytes.
  [[nodiscard]] Result<std::vector<uint8_t>> bytes(std::string_view what, size_t max);
  [[nodiscard]] Result<std::string> str(std::string_view what, size_t max);
  template <class T>
  [[nodiscard]] Result<T> pod(std::string_view what) {
    static_assert(std::is_trivially_copyable_v<T>);
    ASSIGN_OR_RETURN(uint32_t size, u32(what));
    if (size != sizeof(T))
      return error(what, "is " + std::to_string(size) + " bytes, this ember expects " + std::to_string(sizeof(T)));
    T v{};
    TRY(raw(what, &v, sizeof(T)));
    return v;
  }
  // What pods() wrote: at most `max` structs.
  template <class T>
  [[nodiscard]] Result<std::vector<T>> pods(std::string_view what, uint32_t max) {
    ASSIGN_OR_RETURN(uint32_t n, count(what, 4 + sizeof(T), max));
    std::vector<T> items;
    items.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      ASSIGN_OR_RETURN(T item, pod<T>(what));
      items.push_back(item);
    }
    return items;
  }
  // A count of items that each take at least `min_item_size` bytes: refused when the rest of
  // the input could not hold that many, so a forged count cannot make the caller allocate.
  [[nodiscard]] Result<uint32_t> count(std::string_view what, size_t min_item_size, uint32_t max);

  [[nodiscard]] size_t remaining() const { return in_.size() - pos_; }
  // Fails unless every byte was read: trailing data means a format this ember does not know.
  [[nodiscard]] Result<void> expect_end() const;

  // An error about `what`, located where the reader stands: for a field that decoded but whose
  // value the caller refuses.
  [[nodiscard]] Error error(std::string_view what, const std::string& problem) const;

 private:
  [[nodiscard]] Result<uint64_t> little_endian(std::string_view what, size_t n);
  [[nodiscard]] Result<void> raw(std::string_view what, void* out, size_t n);
  [[nodiscard]] Error cut_short(std::string_view what, size_t needed) const;
  std::span<const uint8_t> in_;
  std::string subject_;
  size_t pos_ = 0;
};

}  // namespace ember
