#include "devices/legacy/pvpanic.h"

#include <algorithm>

namespace ember {

void PvPanic::read(uint64_t offset, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), uint8_t{0});
  // Only PANICKED is acted on; a guest that loaded a crash kernel (CRASH_LOADED) keeps running.
  if (offset == 0 && !data.empty()) data[0] = kPanicked;
}

void PvPanic::write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset != 0 || data.empty()) return;
  if ((data[0] & kPanicked) != 0 && panicked_) panicked_();
}

}  // namespace ember
