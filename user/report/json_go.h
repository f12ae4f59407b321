/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_JSON_GO_H
#define BW_JSON_GO_H

#include <json-c/json.h>

struct bw_go_view;

/* {version, goroutines, max_goroutines, by_state, by_reason, groups...} */
json_object *bw_go_json(const struct bw_go_view *v);

#endif
