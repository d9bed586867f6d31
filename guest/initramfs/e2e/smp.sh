# Reports how many CPUs the guest kernel brought up (the "processor" lines of /proc/cpuinfo).
e2e_say "cpus $(grep -c '^processor' /proc/cpuinfo)"
e2e_poweroff
