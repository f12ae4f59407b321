/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_JSON_UTIL_H
#define BW_JSON_UTIL_H

#include <json-c/json.h>
#include <stdint.h>

/* What every JSON writer of the sinks needs. */
static inline json_object *bw_json_u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

/* A string, or JSON null. */
static inline json_object *bw_json_str(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

#endif
