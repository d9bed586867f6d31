// A snapshot's state is encoded with base/byte_codec.h, the codec the guest agent's protocol
// shares: ByteWriter, ByteReader (whose errors say "of the state" unless told otherwise) and
// kPaddingFree. This header keeps the name vmm/snapshot/ includes them by.
#pragma once

#include "base/byte_codec.h"
