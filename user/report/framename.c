// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <inttypes.h>
#include <string.h>
#include "report/fmt.h"
#include "report/framename.h"

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

const char *bw_frame_name(const struct bw_frame *f, char *buf, size_t len)
{
	struct bw_strbuf sb = { .buf = buf, .len = len };

	buf[0] = 0;
	if (f->symbol) {
		bw_sb_esc(&sb, f->symbol);
	} else if (f->module) {
		bw_sb_esc(&sb, base_name(f->module));
		bw_sb_printf(&sb, "+0x%" PRIx64, f->offset);
	} else {
		bw_sb_printf(&sb, "0x%" PRIx64, f->addr);
	}
	if (f->kernel)
		bw_sb_printf(&sb, "_[k]");
	return buf;
}
