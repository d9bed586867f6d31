#!/usr/bin/env bash
# Builds a fuzz target with clang (libFuzzer + ASan + UBSan) and runs it for a bounded number
# of inputs from a fixed seed, so a CI run is repeatable.
#
#   tests/fuzz/run_fuzz.sh [build-dir] [runs] [target]
#
# target is virtio_block (default) or snapshot_state; build-dir defaults to build/fuzz, runs
# to 200000. The binary is rebuilt only when a source it depends on is newer. Exit status 77 (ctest's SKIP_RETURN_CODE) when clang++ is missing.
# Environment: EMBER_FUZZ_CXX (compiler, default clang++), EMBER_FUZZ_SEED (default 1),
# EMBER_FUZZ_SECONDS (time cap for the run, default 60).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/build/fuzz}"
runs="${2:-200000}"
target="${3:-virtio_block}"
cxx="${EMBER_FUZZ_CXX:-clang++}"
seed="${EMBER_FUZZ_SEED:-1}"
seconds="${EMBER_FUZZ_SECONDS:-60}"

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "SKIP: $cxx not found; the $target fuzz test needs clang with libFuzzer"
  exit 77
fi

# Everything a target links, by path from the repository root; nothing that needs KVM.
case "$target" in
  virtio_block)
    # The virtio core and block device, and the util/memory files they use.
    sources=(
      tests/fuzz/virtio_block_fuzz.cc
      devices/virtio/queue.cc
      devices/virtio/mmio_transport.cc
      devices/virtio/block/block_request.cc
      devices/virtio/block/raw_file.cc
      devices/virtio/block/sync_engine.cc
      devices/virtio/block/uring_engine.cc
      devices/virtio/block/virtio_block.cc
      devices/rate_limiter/clock.cc
      devices/rate_limiter/token_bucket.cc
      devices/rate_limiter/rate_limiter.cc
      base/check.cc
      base/log.cc
      memory/guest_memory.cc
    )
    watched=("$root/devices/virtio" "$root/base" "$root/memory" "$root/tests/fuzz")
    libs=(-luring)
    ;;
  snapshot_state)
    # The state file and the microVM state decoder (vCPU, VM, devices, configuration).
    sources=(
      tests/fuzz/snapshot_state_fuzz.cc
      base/byte_codec.cc
      snapshot/crc64.cc
      snapshot/state_file.cc
      snapshot/atomic_file.cc
      vmm/snapshot/microvm_state.cc
      vmm/snapshot/vcpu_state.cc
      vmm/snapshot/vm_state.cc
      vmm/kvm/kvm.cc
      config/vm_config.cc
      base/file.cc
      base/check.cc
      base/log.cc
    )
    watched=("$root/snapshot" "$root/vmm/snapshot" "$root/config" "$root/base" "$root/tests/fuzz")
    libs=()
    ;;
  *)
    echo "run_fuzz.sh: unknown target '$target'" >&2
    exit 2
    ;;
esac
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I "$root")

mkdir -p "$out/obj"
binary="$out/${target}_fuzz"
stale=0
if [[ ! -x "$binary" ]]; then
  stale=1
elif [[ -n "$(find "${watched[@]}" -newer "$binary" \( -name '*.cc' -o -name '*.h' \) -print -quit)" ]]; then
  stale=1
fi
if [[ $stale == 1 ]]; then
  echo "== building $binary with $cxx"
  # Two compile jobs at a time: the CI machines have two cores.
  printf '%s\n' "${sources[@]}" | xargs -P 2 -I{} bash -c \
    'obj="$1/obj/$(echo "$2" | tr / _).o"; "$3" "${@:5}" -c "$4/$2" -o "$obj"' \
    _ "$out" {} "$cxx" "$root" "${flags[@]}"
  objs=()
  for s in "${sources[@]}"; do objs+=("$out/obj/$(echo "$s" | tr / _).o"); done
  "$cxx" "${flags[@]}" "${objs[@]}" -o "$binary" "${libs[@]}"
fi

# A fresh corpus each time, started from the checked-in seeds: the run depends only on them,
# the random seed and the code.
corpus="$out/corpus"
rm -rf "$corpus"
mkdir -p "$corpus"
if [[ $target == virtio_block ]]; then
  n=0
  while IFS= read -r line; do
    [[ -z "$line" || "$line" == \#* ]] && continue
    n=$((n + 1))
    printf '%b' "$(sed 's/../\\x&/g' <<<"$line")" >"$corpus/seed-$n"
  done <"$root/tests/fuzz/seeds.hex"
else
  # The target writes its own seeds: valid states as this ember encodes them.
  EMBER_FUZZ_WRITE_SEEDS="$corpus" "$binary" -runs=0 >/dev/null 2>&1 || true
fi
echo "== fuzzing: $runs inputs (at most ${seconds}s), seed $seed"
cd "$out"
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
  "$binary" -runs="$runs" -seed="$seed" -max_len="${EMBER_FUZZ_MAX_LEN:-4096}" -max_total_time="$seconds" -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 "$corpus"
