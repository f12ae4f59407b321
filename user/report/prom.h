/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_PROM_H
#define BW_PROM_H

#include <stdbool.h>
#include <stddef.h>

struct bw_metrics;

#define BW_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define BW_OM_CONTENT_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* @m in the Prometheus text format, or OpenMetrics 1.0: *@text
 * malloc'ed, *@len its length. 0 or -ENOMEM. */
int bw_prom_render(const struct bw_metrics *m, bool openmetrics, char **text, size_t *len);

#endif
