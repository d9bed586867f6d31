# --copy-in, then --copy-out: 1 MiB of random bytes goes into the guest and comes back byte for
# byte (the guest checks its own sha256 too).
. "$L1_SCRIPTS/emberctl_lib.sh"

head -c 1048576 /dev/urandom > "$SCRATCH/in.bin"
ectl_run --copy-in "$SCRATCH/in.bin:/root/in/" --copy-out "/root/out.bin:$SCRATCH/out.bin" \
  -- sh -c 'cp /root/in/in.bin /root/out.bin && sha256sum /root/in/in.bin' \
  > "$SCRATCH/out" 2> "$SCRATCH/err"
status=$?
show "$SCRATCH/out" stdout
show "$SCRATCH/err" stderr
l1_say "emberctl copy status $status"
sent=$(sha256sum < "$SCRATCH/in.bin" | cut -d' ' -f1)
seen=$(cut -d' ' -f1 "$SCRATCH/out")
back=$(sha256sum < "$SCRATCH/out.bin" 2> /dev/null | cut -d' ' -f1)
[ "$seen" = "$sent" ] && l1_say "emberctl copy guest sha256 match"
[ "$back" = "$sent" ] && l1_say "emberctl copy round trip sha256 match ($(wc -c < "$SCRATCH/out.bin") bytes)"
check_nothing_left
