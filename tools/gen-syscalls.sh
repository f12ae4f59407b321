#!/bin/sh
# Turn the kernel UAPI's unistd_64.h into a C table of syscall names
# indexed by number, so reason names need no libaudit at run time.
set -eu
echo "/* generated from $1 by tools/gen-syscalls.sh */"
awk '$1 == "#define" && $2 ~ /^__NR_/ && $3 ~ /^[0-9]+$/ {
	printf "\t[%s] = \"%s\",\n", $3, substr($2, 6) }' "$1"
