/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_DEBUGFRAME_H
#define BW_DEBUGFRAME_H

#include <elfutils/libdw.h>
#include <libelf.h>

/*
 * A file's .debug_frame alone, as libdw CFI. libdwfl's
 * dwfl_module_dwarf_cfi opens the whole DWARF of the file for it, and
 * libdw inflates every compressed debug section then: a Go binary has
 * no .eh_frame, so unwinding any Go pc kept its .debug_info, .debug_line,
 * .debug_loc and .debug_ranges inflated (2.9 MB for the test fixture)
 * for a 150 KB section. Here only .debug_frame is inflated (zlib), into
 * a small ELF image of its own that libdw reads as a Dwarf: the same
 * CIEs and FDEs, the same machine, so dwarf_cfi_addrframe answers as it
 * does on libdwfl's CFI of the same file (when libdwfl takes the file's
 * own DWARF, which it does when the file has any).
 */
struct debugframe;

/* @elf's .debug_frame as CFI (the section's addresses are @elf's: the
 * module's main bias applies). -ENOENT: no .debug_frame, or only the
 * GNU .zdebug_frame form (left to libdwfl); -EINVAL: a section or a
 * compression libdw would not read either; -ENOMEM. */
int debugframe__open(Elf *elf, struct debugframe **out);
Dwarf_CFI *debugframe__cfi(const struct debugframe *d);
void debugframe__free(struct debugframe *d);

#endif
