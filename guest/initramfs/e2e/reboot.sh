# Reboots at once (with reboot=k: through the i8042 reset line; ember then exits 0).
reboot -f
