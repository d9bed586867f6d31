# Reports, for each module of /lib/modules/l2.order, whether the kernel has it loaded.
while read -r ko; do
  [ -n "$ko" ] || continue
  name="$(basename "$ko" .ko | tr - _)"
  if grep -q "^$name " /proc/modules; then
    e2e_say "module $name loaded"
  else
    e2e_say "module $name missing"
  fi
done < /lib/modules/l2.order
e2e_poweroff
