# Boots to userspace and reports the running kernel's release.
e2e_say "uname $(uname -r)"
e2e_poweroff
