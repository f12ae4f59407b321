// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli/parse.h"

int bw_parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 },
		{ "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
	};
	char *end;
	double v;
	size_t i;

	if (!s || !*s || *s == '-' || *s == '+' || (*s != '.' && (*s < '0' || *s > '9')))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v))
		return -EINVAL;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		v *= units[i].mult;
		if (v >= 18446744073709551616.0)
			return -ERANGE;
		*ns = (uint64_t)(v + 0.5);
		return 0;
	}
	return -EINVAL;
}

int bw_parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (!strcmp(end, "K") || !strcmp(end, "k"))
		shift = 10;
	else if (!strcmp(end, "M") || !strcmp(end, "m"))
		shift = 20;
	else if (!strcmp(end, "G") || !strcmp(end, "g"))
		shift = 30;
	else if (*end)
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*bytes = (uint64_t)v << shift;
	return 0;
}

int bw_parse_pids(const char *s, pid_t **pids, int *npids)
{
	pid_t *out = NULL;
	int n = 0;

	while (s && *s) {
		unsigned long v;
		char *end;
		pid_t *tmp;

		if (*s < '0' || *s > '9')
			goto inval;
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || v == 0 || v > INT_MAX || (*end && *end != ','))
			goto inval;
		tmp = realloc(out, (n + 1) * sizeof(*out));
		if (!tmp) {
			free(out);
			return -ENOMEM;
		}
		out = tmp;
		out[n++] = (pid_t)v;
		s = *end ? end + 1 : end;
		if (*end == ',' && !*s)
			goto inval;
	}
	if (!n)
		return -EINVAL;
	*pids = out;
	*npids = n;
	return 0;
inval:
	free(out);
	return -EINVAL;
}

int bw_parse_uint(const char *s, unsigned int *v)
{
	unsigned long x;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno || *end || x > UINT_MAX)
		return -EINVAL;
	*v = (unsigned int)x;
	return 0;
}
