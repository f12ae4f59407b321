/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_DEMANGLE_H
#define BW_DEMANGLE_H

/* "_ZN3foo3barEv" -> "foo::bar()"; other names are copied. malloc'ed;
 * NULL only when out of memory. */
char *bw_demangle(const char *name);
/* The bare name of an ELF or DWARF symbol: no symbol version, no
 * glibc-internal "__GI_" alias prefix, demangled. */
char *bw_symbol_name(const char *name);

#endif
