/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_DEBUGFILE_H
#define BW_DEBUGFILE_H

#include <elfutils/libdwfl.h>

/*
 * Separate debug files, looked up on this machine only: by build-id
 * under the debuginfo path (libdwfl's own lookup), else by the file's
 * .gnu_debuglink name in each directory of the path (its CRC checked,
 * as libdwfl checks it).
 *
 * Never through debuginfod: libdwfl's standard search falls back to a
 * debuginfod client for every file without a local debug file, and in
 * elfutils 0.188 that dlopens libdebuginfod, libcurl and a TLS stack
 * (~5.5 MB resident, even with DEBUGINFOD_URLS unset) and, with it set,
 * waits on the network inside the event loop (90 s by default).
 *
 * The Dwfl_Callbacks find_debuginfo of every Dwfl blockwatch builds.
 * The callbacks' debuginfo_path is read through the Dwfl; the debuglink
 * search reads the same string, set here (NULL: libdwfl's default).
 */
void debugfile_set_path(const char *path);
int debugfile_find(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		   const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
		   char **debuginfo_file_name);

/* For tests: the candidate paths of the debuglink search, in order, for
 * @file_name (a path) and @debuglink, under @path (libdwfl's syntax:
 * ':'-separated, a leading '-' turns the CRC check off, '+' on; an
 * empty entry is the file's directory, a relative one under it, an
 * absolute one a root the file's directory is appended to). Calls @fn
 * for each until it returns nonzero; returns that or 0. */
int debugfile_candidates(const char *path, const char *file_name, const char *debuglink,
			 int (*fn)(void *ctx, const char *candidate, bool check_crc), void *ctx);

#endif /* BW_DEBUGFILE_H */
