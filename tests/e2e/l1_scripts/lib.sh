# Helpers for the L1 scenario scripts (tests/e2e/README.md, "Scripted scenarios"):
#   . "$L1_SCRIPTS/lib.sh"
# Runs under busybox sh: a bare `ip`, `nc`, ... is busybox's applet even when a tool of the same
# name is on PATH; the harness's tools are "$CURL", "$IP", "$EMBERCTL", "$QEMU".

# l1_say WORDS...: one fact of the L1 side, on the console the scenario is judged from; in
# nested mode also at once on L1's console as "E2E-LIVE <run> <words>" (progress the host sees
# even if L1 stops before the run ends).
l1_say() {
  echo "E2E-L1S $*"
  if [ -n "${E2E_LIVE-}" ]; then echo "E2E-LIVE ${E2E_NAME-?} $*" > "$E2E_LIVE"; fi 2> /dev/null
}

# l1_fail WORDS...: says why and ends the script with status 1 (the harness then kills whatever
# the script left running).
l1_fail() { l1_say "failed: $*"; exit 1; }

# wait_for_socket PATH SECONDS [PID]: until PATH is a socket; status 1 after SECONDS, or as
# soon as process PID (the one that should create it) has ended.
wait_for_socket() {
  _w=0
  while [ ! -S "$1" ]; do
    [ "$_w" -ge $(($2 * 10)) ] && return 1
    [ -n "${3-}" ] && ! kill -0 "$3" 2> /dev/null && return 1
    sleep 0.1
    _w=$((_w + 1))
  done
}

# api SOCKET METHOD PATH [BODY]: one request to ember's API over its Unix socket. Prints
# "API <METHOD> <PATH> <status>" and, for an error, the response body; status 0 iff 2xx.
# The response body is left in $SCRATCH/api.body.
api() {
  _sock=$1; _method=$2; _path=$3; _body=${4-}
  if [ -n "$_body" ]; then
    _code=$("$CURL" -s -o "$SCRATCH/api.body" -w '%{http_code}' --unix-socket "$_sock" \
      -X "$_method" -H 'Content-Type: application/json' -d "$_body" "http://localhost$_path")
  else
    _code=$("$CURL" -s -o "$SCRATCH/api.body" -w '%{http_code}' --unix-socket "$_sock" \
      -X "$_method" "http://localhost$_path")
  fi
  l1_say "API $_method $_path $_code"
  case "$_code" in
    2??) return 0 ;;
    *) l1_say "API body $(cat "$SCRATCH/api.body" 2>/dev/null)"; return 1 ;;
  esac
}

# boot_source_json KERNEL: the body of PUT /boot-source for KERNEL with the L2 initramfs and
# the scenario's command line.
boot_source_json() {
  printf '{"kernel_image_path": "%s", "initrd_path": "%s", "boot_args": "%s"}' \
    "$1" "$L2_INITRAMFS" "$BOOT_ARGS"
}

# machine_json: the body of PUT /machine-config from the scenario's vCPUs and memory.
machine_json() {
  printf '{"vcpu_count": %s, "mem_size_mib": %s}' "$E2E_VCPUS" "$E2E_MEM_MIB"
}
