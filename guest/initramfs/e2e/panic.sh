# Crashes the kernel on purpose (sysrq 'c'). With pvpanic loaded, ember exits non-zero at once;
# elsewhere panic=1 on the command line turns the panic into a reboot after a second.
e2e_say panicking
echo 1 > /proc/sys/kernel/sysrq
echo c > /proc/sysrq-trigger
