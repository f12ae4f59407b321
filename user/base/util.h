/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_UTIL_H
#define BW_UTIL_H

#include <stddef.h>

#define BW_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* The struct that holds @ptr as its member @member. */
#define bw_container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#endif
