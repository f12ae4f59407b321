// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "cli/parse.h"

/* @s's leading decimal digits: their value (*overflow past 2^64), how
 * many (*n); returns past them. */
static const char *digits(const char *s, uint64_t *v, unsigned int *n, bool *overflow)
{
	for (*v = 0, *n = 0; *s >= '0' && *s <= '9'; s++, (*n)++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (*v > (UINT64_MAX - d) / 10)
			*overflow = true;
		else
			*v = *v * 10 + d;
	}
	return s;
}

/* The fraction after the dot: its first 19 digits over *scale (10^n),
 * more than a nanosecond of an hour needs; the rest only checked. */
static const char *fraction(const char *s, uint64_t *frac, uint64_t *scale, unsigned int *n)
{
	for (*frac = 0, *scale = 1, *n = 0; *s >= '0' && *s <= '9'; s++, (*n)++) {
		if (*n < 19) {
			*frac = *frac * 10 + (uint64_t)(*s - '0');
			*scale *= 10;
		}
	}
	return s;
}

/*
 * Plain decimal with an optional fraction, as documented: no sign, hex,
 * exponent or bare dot (strtod took "0x10s" as 16 s and "1e3ms" as a
 * second). Integer arithmetic, so 18446744073709551615ns is exact and
 * -ERANGE is never a rounding artefact; the fraction is rounded half up
 * to a nanosecond.
 */
int bw_parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		uint64_t mult;
	} units[] = {
		{ "ns", 1ULL }, { "us", 1000ULL }, { "ms", 1000000ULL },
		{ "s", 1000000000ULL }, { "m", 60000000000ULL }, { "h", 3600000000000ULL },
	};
	uint64_t whole, frac = 0, scale = 1;
	unsigned int nwhole, nfrac;
	bool overflow = false;
	const char *end;
	size_t i;

	if (!s)
		return -EINVAL;
	end = digits(s, &whole, &nwhole, &overflow);
	if (!nwhole)
		return -EINVAL;
	if (*end == '.') {
		end = fraction(end + 1, &frac, &scale, &nfrac);
		if (!nfrac)
			return -EINVAL;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		unsigned __int128 f, v;

		if (strcmp(end, units[i].unit))
			continue;
		if (overflow || whole > UINT64_MAX / units[i].mult)
			return -ERANGE;
		f = (unsigned __int128)frac * units[i].mult;
		v = (unsigned __int128)whole * units[i].mult + f / scale + (2 * (f % scale) >= scale);
		if (v > UINT64_MAX)
			return -ERANGE;
		*ns = (uint64_t)v;
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
