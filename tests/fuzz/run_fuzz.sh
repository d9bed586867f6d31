#!/usr/bin/env bash
# Builds one libFuzzer target with clang++ (libFuzzer + ASan + UBSan) and runs it for a bounded
# number of inputs. Every target is built the same way, from its source list below; each runs
# with its own settings (inputs, time cap, input size, starting corpus, dictionary).
#
#   tests/fuzz/run_fuzz.sh TARGET [BUILD_DIR] [RUNS]
#
#   TARGET     virtio_block, snapshot_state, mmds_frame or api_request (the tables below)
#   BUILD_DIR  objects, binary, corpus and any crash-* input (default: build/fuzz/TARGET)
#   RUNS       inputs to try (default: the target's runs)
#
# Environment: EMBER_FUZZ_CXX (compiler, default clang++), EMBER_FUZZ_JOBS (compile jobs,
# default 2), and EMBER_FUZZ_SEED, EMBER_FUZZ_SECONDS, EMBER_FUZZ_MAX_LEN to override the
# target's seed, time cap and maximum input length.
# Exit status: 0 passed; 1 a build failed or the fuzzer found a bug; 2 bad usage; 77 (ctest's
# SKIP_RETURN_CODE) clang++ is missing.
set -euo pipefail

# ---- Targets: one table each ---------------------------------------------------------------
#   sources        every file the binary links, by path from the repository root (no KVM)
#   libs           extra link arguments
#   runs           inputs to try (-runs)
#   seconds        time cap of the run (-max_total_time)
#   max_len        largest input (-max_len)
#   input_timeout  seconds one input may take (-timeout)
#   seed           libFuzzer's random seed (-seed); empty: a new one each run
#   seeds          where the corpus starts:
#                    hex:FILE  one input per hex line of FILE ('#' comments), fresh each run
#                    self      the target writes valid inputs itself when EMBER_FUZZ_WRITE_SEEDS
#                              names a folder, fresh each run
#                    dir:DIR   the files of DIR, left as they are; new inputs go to
#                              BUILD_DIR/corpus, which is kept from run to run
#   dict           libFuzzer dictionary (-dict); empty: none
# A fixed seed and a fresh corpus make a run depend only on the seeds and the code.

target_virtio_block() {
  # The virtio core and block device, and the base/memory files they use.
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
  libs=(-luring)
  runs=200000 seconds=60 max_len=4096 input_timeout=10 seed=1
  seeds=hex:tests/fuzz/virtio_block_seeds.hex
  dict=
}

target_snapshot_state() {
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
  libs=()
  # A whole microVM state is several KiB: the default 4096 would cut every seed short.
  runs=200000 seconds=45 max_len=32768 input_timeout=10 seed=1
  seeds=self
  dict=
}

target_mmds_frame() {
  # The MMDS network stack: Ethernet, ARP, IPv4 and TCP from a guest.
  sources=(
    tests/fuzz/mmds_frame_fuzz.cc
    mmds/net/frames.cc
    mmds/net/tcp_connection.cc
    mmds/net/tcp_server.cc
    mmds/net/network_stack.cc
  )
  libs=()
  runs=200000 seconds=60 max_len=8192 input_timeout=10 seed=1
  seeds=hex:tests/fuzz/mmds_frame_seeds.hex
  dict=
}

target_api_request() {
  # The API request parser, its body parsers and the JSON they print back.
  sources=(
    tests/fuzz/api_request_fuzz.cc
    vmm/controller/action.cc
    api/json_fields.cc
    api/body_parsers.cc
    api/cpu_config_parser.cc
    api/request_parser.cc
    api/response.cc
    config/vm_config.cc
    config/cpu_template.cc
  )
  libs=()
  runs=300000 seconds=55 max_len=4096 input_timeout=5 seed=
  seeds=dir:tests/fuzz/api_request_corpus
  dict=tests/fuzz/api_request.dict
}

# ---- Arguments -----------------------------------------------------------------------------
root="$(cd "$(dirname "$0")/../.." && pwd)"
target="${1:-}"
if [[ -z "$target" ]] || ! declare -F "target_$target" >/dev/null; then
  echo "usage: tests/fuzz/run_fuzz.sh TARGET [BUILD_DIR] [RUNS]; TARGET is one of:" \
       "$(declare -F | sed -n 's/^declare -f target_//p' | tr '\n' ' ')" >&2
  exit 2
fi
"target_$target"
out="${2:-$root/build/fuzz/$target}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"  # absolute: the run happens inside it
runs="${3:-$runs}"
seed="${EMBER_FUZZ_SEED:-$seed}"
seconds="${EMBER_FUZZ_SECONDS:-$seconds}"
max_len="${EMBER_FUZZ_MAX_LEN:-$max_len}"
cxx="${EMBER_FUZZ_CXX:-clang++}"
# Two compile jobs by default: the CI machines have two cores.
jobs="${EMBER_FUZZ_JOBS:-2}"

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "run_fuzz.sh: $cxx not found; the $target fuzz test needs clang with libFuzzer" \
       "(Debian: apt-get install clang)" >&2
  exit 77
fi

# ---- Build: one object per source, rebuilt only when it or a header it includes changed ------
# shellcheck disable=SC2054  # the commas in -fsanitize= are meant
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I "$root")
obj_dir="$out/obj"
binary="$out/${target}_fuzz"
mkdir -p "$obj_dir"

# Objects built by another compiler or with other flags are all stale.
build_id="$("$cxx" --version | head -n 1) ${flags[*]}"
if [[ ! -f "$obj_dir/build_id" || "$(<"$obj_dir/build_id")" != "$build_id" ]]; then
  rm -f "$obj_dir"/*.o "$obj_dir"/*.d
  printf '%s\n' "$build_id" >"$obj_dir/build_id"
fi

# True when $1.o must be compiled: it is missing, or its source or a header it included (the
# depfile clang wrote beside it, -MMD) is newer or gone. Paths must not contain spaces.
object_is_stale() {
  local obj="$1.o" dep="$1.d" file
  [[ -f "$obj" && -f "$dep" ]] || return 0
  # shellcheck disable=SC2013  # a depfile lists its paths separated by spaces
  for file in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$dep"); do
    [[ -e "$file" && ! "$file" -nt "$obj" ]] || return 0
  done
  return 1
}

# Writes to temporaries first so that an interrupted compile leaves no object that looks fresh.
compile() {
  local src="$1" base="$2"
  "$cxx" "${flags[@]}" -MMD -MF "$base.d.tmp" -c "$root/$src" -o "$base.o.tmp" &&
    mv "$base.d.tmp" "$base.d" && mv "$base.o.tmp" "$base.o"
}

objects=()
pids=()
failed=0
for src in "${sources[@]}"; do
  base="$obj_dir/$(tr / _ <<<"${src%.cc}")"
  objects+=("$base.o")
  object_is_stale "$base" || continue
  echo "run_fuzz.sh: compiling $src"
  compile "$src" "$base" &
  pids+=($!)
  if (( ${#pids[@]} >= jobs )); then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
if (( failed )); then
  echo "run_fuzz.sh: FAIL: $target does not compile" >&2
  exit 1
fi

# Relink when an object is newer than the binary or the link line changed (a source added or
# removed from the table).
link_line="${objects[*]} ${libs[*]}"
relink=0
if [[ ! -x "$binary" || ! -f "$obj_dir/link_line" || "$(<"$obj_dir/link_line")" != "$link_line" ]]; then
  relink=1
else
  for obj in "${objects[@]}"; do
    if [[ "$obj" -nt "$binary" ]]; then relink=1; break; fi
  done
fi
if (( relink )); then
  echo "run_fuzz.sh: linking $binary"
  "$cxx" "${flags[@]}" "${objects[@]}" -o "$binary.tmp" "${libs[@]}"
  mv "$binary.tmp" "$binary"
  printf '%s\n' "$link_line" >"$obj_dir/link_line"
fi

# ---- Corpus --------------------------------------------------------------------------------
corpus="$out/corpus"
corpora=("$corpus")  # the first folder is where libFuzzer writes new inputs
case "$seeds" in
  hex:*)
    rm -rf "$corpus"
    mkdir -p "$corpus"
    n=0
    while IFS= read -r line; do
      [[ -z "$line" || "$line" == \#* ]] && continue
      n=$((n + 1))
      printf '%b' "$(sed 's/../\\x&/g' <<<"$line")" >"$corpus/seed-$n"
    done <"$root/${seeds#hex:}"
    ;;
  self)
    rm -rf "$corpus"
    mkdir -p "$corpus"
    EMBER_FUZZ_WRITE_SEEDS="$corpus" "$binary" -runs=0 >/dev/null 2>&1 || true
    ;;
  dir:*)
    mkdir -p "$corpus"
    corpora+=("$root/${seeds#dir:}")
    ;;
  *)
    echo "run_fuzz.sh: target $target: unknown seeds '$seeds'" >&2
    exit 2
    ;;
esac

# ---- Run -----------------------------------------------------------------------------------
args=(-runs="$runs" -max_total_time="$seconds" -max_len="$max_len" -timeout="$input_timeout"
      -rss_limit_mb=2048 -artifact_prefix="$out/" -print_final_stats=1)
[[ -n "$seed" ]] && args+=(-seed="$seed")
[[ -n "$dict" ]] && args+=(-dict="$root/$dict")

echo "run_fuzz.sh: fuzzing $target: $runs inputs (at most ${seconds}s), seed ${seed:-random}"
cd "$out"
# libFuzzer reports a bug with exit status 77, which ctest would take for "skipped": any
# failure becomes 1 here.
if ! ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
     "$binary" "${args[@]}" "${corpora[@]}"; then
  echo "run_fuzz.sh: FAIL: the input is in $out (crash-*, leak-*, timeout-*, oom-*); replay it" \
       "with $binary FILE" >&2
  exit 1
fi
echo "run_fuzz.sh: PASS"
