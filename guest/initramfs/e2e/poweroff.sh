# Powers off at once (ACPI S5 through the FADT sleep registers; ember then exits 0).
poweroff -f
