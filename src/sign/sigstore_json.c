/*
 * sigstore_json.c - strict accessors for the Sigstore JSON documents (the
 * trusted root, the verification material, Rekor entry bodies).
 *
 * Every accessor checks the JSON type, caps the size and names the field
 * (its path in the document) in the error, so that a rejected bundle says
 * exactly what was wrong with it.  Protobuf JSON writes 64-bit integers as
 * decimal strings; both forms are accepted, canonical digits only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "palisade/encoding.h"
#include "sigstore_int.h"

int
ss_json_keys(json_t *obj, const char *const *allowed, const char *path,
	     struct pal_err *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t i;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "%s: unknown field \"%.64s\"", path,
					   key);
	}
	return 0;
}

int
ss_json_obj(json_t *parent, const char *key, int required, json_t **out,
	    const char *path, struct pal_err *err)
{
	json_t *v = json_object_get(parent, key);

	*out = NULL;
	if (v == NULL && !required)
		return 0;
	if (v == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT, "%s.%s: missing", path,
				   key);
	if (!json_is_object(v))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s.%s: not an object", path, key);
	*out = v;
	return 0;
}

int
ss_json_array(json_t *parent, const char *key, size_t max, json_t **out,
	      const char *path, struct pal_err *err)
{
	json_t *v = json_object_get(parent, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s.%s: not an array", path, key);
	if (json_array_size(v) > max)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "%s.%s: %zu items, at most %zu", path, key,
				   json_array_size(v), max);
	*out = v;
	return 0;
}

int
ss_json_str(json_t *parent, const char *key, size_t max, const char **out,
	    const char *path, struct pal_err *err)
{
	json_t *v = json_object_get(parent, key);

	*out = NULL;
	if (v == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT, "%s.%s: missing", path,
				   key);
	if (!json_is_string(v))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s.%s: not a string", path, key);
	if (json_string_length(v) > max)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "%s.%s: %zu bytes, at most %zu", path, key,
				   json_string_length(v), max);
	/* The caller may have parsed with JSON_ALLOW_NUL. */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s.%s: contains a NUL", path, key);
	*out = json_string_value(v);
	return 0;
}

int
ss_json_b64(json_t *v, size_t max, uint8_t **out, size_t *len,
	    const char *path, struct pal_err *err)
{
	*out = NULL;
	*len = 0;
	if (!json_is_string(v))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s: not a base64 string", path);
	size_t n = json_string_length(v);
	if (n / 4 * 3 > max)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "%s: more than %zu bytes", path, max);
	int rc = pal_base64_decode(json_string_value(v), n, out, len, err);
	if (rc < 0)
		return pal_err_wrap(err, rc, "%s: ", path);
	if (*len == 0) {
		free(*out);
		*out = NULL;
		return pal_err_set(err, PAL_ERR_FORMAT, "%s: empty", path);
	}
	return 0;
}

int
ss_json_b64_field(json_t *parent, const char *key, size_t max,
		  uint8_t **out, size_t *len, const char *path,
		  struct pal_err *err)
{
	json_t *v = json_object_get(parent, key);
	char p[160];

	*out = NULL;
	*len = 0;
	ss_pathf(p, sizeof(p), "%s.%s", path, key);
	if (v == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT, "%s: missing", p);
	return ss_json_b64(v, max, out, len, p, err);
}

int
ss_json_hash(json_t *v, uint8_t out[32], const char *path,
	     struct pal_err *err)
{
	uint8_t *p = NULL;
	size_t n = 0;
	int rc = ss_json_b64(v, 64, &p, &n, path, err);

	if (rc < 0)
		return rc;
	if (n != 32) {
		free(p);
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s: a SHA-256 hash has 32 bytes, not %zu",
				   path, n);
	}
	memcpy(out, p, 32);
	free(p);
	return 0;
}

int
ss_json_u64(json_t *parent, const char *key, uint64_t max, uint64_t *out,
	    const char *path, struct pal_err *err)
{
	json_t *v = json_object_get(parent, key);
	uint64_t x = 0;
	int ok;

	*out = 0;
	if (v == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT, "%s.%s: missing", path,
				   key);
	if (json_is_integer(v)) {
		ok = json_integer_value(v) >= 0;
		x = (uint64_t)json_integer_value(v);
	} else if (json_is_string(v)) {
		ok = pal_decimal_parse(json_string_value(v), json_string_length(v),
				&x) == 0;
	} else {
		ok = 0;
	}
	if (!ok || x > max)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s.%s: not an integer from 0 to %llu",
				   path, key, (unsigned long long)max);
	*out = x;
	return 0;
}

/* Reads n digits at *p into *v and advances; -1 on anything else. */
static int
take_num(const char **p, int n, int *v)
{
	int x = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		x = x * 10 + (c - '0');
	}
	*p += n;
	*v = x;
	return 0;
}

static int
take_char(const char **p, char c)
{
	if (**p != c)
		return -1;
	(*p)++;
	return 0;
}

/* RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" to Unix time. */
static int
parse_rfc3339(const char *s, int64_t *out)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *p = s;

	memset(&tm, 0, sizeof(tm));
	if (take_num(&p, 4, &y) || take_char(&p, '-') ||
	    take_num(&p, 2, &mo) || take_char(&p, '-') ||
	    take_num(&p, 2, &d) || take_char(&p, 'T') ||
	    take_num(&p, 2, &h) || take_char(&p, ':') ||
	    take_num(&p, 2, &mi) || take_char(&p, ':') ||
	    take_num(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		const char *f = ++p;
		while (*p >= '0' && *p <= '9' && p - f < 9)
			p++;
		if (p == f)
			return -1;
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (take_num(&p, 2, &oh) || take_char(&p, ':') ||
		    take_num(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	/* timegm normalises 31 February into March: refuse such dates. */
	if (tm.tm_mday != d || tm.tm_mon != mo - 1)
		return -1;
	*out = (int64_t)t - sign * (oh * 3600 + om * 60);
	return 0;
}

int
ss_json_time(json_t *parent, const char *key, int64_t *out,
	     const char *path, struct pal_err *err)
{
	const char *s;
	int rc = ss_json_str(parent, key, 64, &s, path, err);

	if (rc < 0)
		return rc;
	if (parse_rfc3339(s, out) < 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s.%s: \"%s\" is not an RFC 3339 time",
				   path, key, s);
	return 0;
}

void
ss_format_time(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == SS_TIME_OPEN || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
}

void
ss_pathf(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = vsnprintf(out, n, fmt, ap);
	va_end(ap);
	if (r >= 0 && (size_t)r >= n && n > 4)
		memcpy(out + n - 4, "...", 4);
}
