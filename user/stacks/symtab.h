/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_SYMTAB_H
#define BW_SYMTAB_H

#include <elfutils/libdwfl.h>
#include <stdint.h>

/*
 * The function symbols of one module, read once from libdwfl (its
 * .symtab, separate debug file, .gnu_debugdata and .dynsym merged as
 * libdwfl merges them) into an array sorted by address: a lookup is a
 * binary search. dwfl_module_addrinfo walks every symbol of the module
 * on every call (gelf_getsymshndx each), which is what blockwatch's
 * symbolization spent its time in.
 *
 * It answers what dwfl_module_addrinfo answers for a symbol whose
 * extent covers the address: the sized symbols that cover it taken in
 * libdwfl's order, each taking the place of the one so far if it starts
 * closer, binds stronger (global, weak, local, any other), or is smaller at
 * the same start and binding — those of the table's global part first,
 * and those of its local part only when none of the global part covers
 * the address (libdwfl searches the locals only then; the parts are by
 * index, whatever a symbol's binding says). Sizeless symbols (assembly
 * labels) never name anything here.
 */
struct symtab;

/* NULL with errno set (ENOMEM). A module without symbols gets an empty
 * table. */
struct symtab *symtab__new(Dwfl_Module *mod);
void symtab__free(struct symtab *t);
/* The name of the symbol covering @addr (the module's own address
 * space, as dwfl_module_addrinfo takes it) and @addr's offset in it:
 * 1, or 0 when none does; -E2BIG when more than SYMTAB_MAX_COVERING
 * cover it, -EAGAIN when only local-part symbols do and a label of the
 * global part is at @addr (libdwfl may then stop at the label): ask
 * libdwfl. The name lives as long as the module. */
#define SYMTAB_MAX_COVERING 64
int symtab__lookup(const struct symtab *t, uint64_t addr, const char **name, uint64_t *off);
size_t symtab__count(const struct symtab *t);

#endif
