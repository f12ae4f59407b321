// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "stacks/frame.h"

void bw_frame_clear(struct bw_frame *f)
{
	free(f->symbol);
	free(f->module);
	free(f->file);
	free(f->build_id);
	memset(f, 0, sizeof(*f));
}

static int dup_str(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return src && !*dst ? -ENOMEM : 0;
}

int bw_frame_copy(struct bw_frame *dst, const struct bw_frame *src)
{
	*dst = *src;
	dst->symbol = dst->module = dst->file = dst->build_id = NULL;
	if (dup_str(&dst->symbol, src->symbol) || dup_str(&dst->module, src->module) ||
	    dup_str(&dst->file, src->file) || dup_str(&dst->build_id, src->build_id)) {
		bw_frame_clear(dst);
		return -ENOMEM;
	}
	return 0;
}
