// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The /proc/net tables (proc/fdinfo.c), read line by line as fdinfo
 * reads them (512 bytes at most): each line as a tcp/udp[6] line and as
 * a unix line (whose path any process chooses), and each field through
 * the address formatter.
 */
#include "proc/fdinfo.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fuzz_file(data, size);
	char line[512], desc[200], addr[80], tok[64];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long ino;
		const char *p = line;
		int used, k;

		if (!sock_inet_entry("tcp6", line, &ino, desc, sizeof(desc)))
			FUZZ_CHECK(ino && memchr(desc, 0, sizeof(desc)));
		if (!sock_unix_entry(line, &ino, desc, sizeof(desc)))
			FUZZ_CHECK(ino && !strncmp(desc, "unix ", 5));
		for (k = 0; k < 4 && sscanf(p, "%63s%n", tok, &used) == 1; k++, p += used)
			if (!sock_addr_format(tok, addr, sizeof(addr)))
				FUZZ_CHECK(memchr(addr, 0, sizeof(addr)));
	}
	fclose(f);
	return 0;
}
