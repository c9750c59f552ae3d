/*
 * yaml_strict.c - the strict YAML reader shared by the trust policy and
 * the gateway's configuration (yaml_strict.h).
 *
 * The files it reads decide whom Palisade trusts, so YAML's generosity is
 * refused rather than interpreted: anchors, aliases, tags and tag
 * directives are errors, a key may appear once, a string is never a plain
 * scalar that another YAML reader would take for null, a boolean or a
 * number, and numbers are plain decimal digits (YAML 1.1 would read 010 as
 * octal, 1_000 as a thousand and 0x10 as sixteen).  The callers' tables
 * say which keys exist; this file walks the events and reports where
 * anything else was found.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/text.h"
#include "palisade/yaml_strict.h"

#define SHOWN_MAX 64		/* bytes of a value quoted in a message */
#define NUMBER_MAX 32		/* bytes of a number's text */
#define FRACTION_MAX 9		/* digits after a number's point */

static int
vfail(struct pal_yaml *y, const yaml_mark_t *m, int path, const char *fmt,
      va_list ap) __attribute__((format(printf, 4, 0)));

static int
vfail(struct pal_yaml *y, const yaml_mark_t *m, int path, const char *fmt,
      va_list ap)
{
	char detail[PAL_ERR_MSG_MAX];

	if (vsnprintf(detail, sizeof(detail), fmt, ap) < 0)
		detail[0] = '\0';
	if (path && y->path_len > 0)
		return pal_err_set(y->err, PAL_ERR_POLICY, "%s:%zu:%zu: %s: %s",
				   y->name, m->line + 1, m->column + 1,
				   y->path, detail);
	return pal_err_set(y->err, PAL_ERR_POLICY, "%s:%zu:%zu: %s", y->name,
			   m->line + 1, m->column + 1, detail);
}

int
pal_yaml_fail(struct pal_yaml *y, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(y, m, 0, fmt, ap);
	va_end(ap);
	return rc;
}

int
pal_yaml_fail_path(struct pal_yaml *y, const yaml_mark_t *m,
		   const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(y, m, 1, fmt, ap);
	va_end(ap);
	return rc;
}

int
pal_yaml_fail_wrap(struct pal_yaml *y, int rc, const yaml_mark_t *m,
		   const char *fmt, ...)
{
	char detail[PAL_ERR_MSG_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (n < 0)
		detail[0] = '\0';
	return pal_err_wrap(y->err, rc, "%s:%zu:%zu: %s", y->name,
			    m->line + 1, m->column + 1, detail);
}

int
pal_yaml_nomem(struct pal_yaml *y)
{
	return pal_err_set(y->err, PAL_ERR_NOMEM, "%s: out of memory",
			   y->name);
}

const char *
pal_yaml_shown(struct pal_yaml *y)
{
	const char *s = (const char *)y->ev.data.scalar.value;
	size_t n = y->ev.data.scalar.length;

	if (!y->have_ev || y->ev.type != YAML_SCALAR_EVENT)
		return "";
	pal_buf_reset(&y->shown);
	if (pal_text_escape(&y->shown, s, n > SHOWN_MAX ? SHOWN_MAX : n) != 0 ||
	    (n > SHOWN_MAX && pal_buf_puts(&y->shown, "...") != 0))
		return "?";
	return y->shown.p != NULL ? (const char *)y->shown.p : "";
}

const char *
pal_yaml_path(const struct pal_yaml *y)
{
	return y->path;
}

/*
 * Appends to the key path (cut, still terminated, when it would not fit)
 * and returns its length before, for path_pop.
 */
static size_t
path_push(struct pal_yaml *y, const char *name, size_t index)
{
	size_t was = y->path_len, room = sizeof(y->path) - was;
	int n;

	if (name != NULL)
		n = snprintf(y->path + was, room, "%s%s", was > 0 ? "." : "",
			     name);
	else
		n = snprintf(y->path + was, room, "[%zu]", index);
	if (n < 0)
		y->path[was] = '\0';
	else
		y->path_len = (size_t)n < room ? was + (size_t)n :
			      sizeof(y->path) - 1;
	return was;
}

static void
path_pop(struct pal_yaml *y, size_t was)
{
	y->path_len = was;
	y->path[was] = '\0';
}

/*
 * What a message is about: the caller's description, or "<key path>:"
 * in buf.
 */
static const char *
subject(const struct pal_yaml *y, const char *what, char *buf, size_t size)
{
	if (what != NULL)
		return what;
	snprintf(buf, size, "%s:", y->path_len > 0 ? y->path : "value");
	return buf;
}

/* ---------------------------------------------------------------------
 * Events.
 */

static int
no_anchor_or_tag(struct pal_yaml *y, const yaml_char_t *anchor,
		 const yaml_char_t *tag)
{
	if (anchor != NULL || tag != NULL)
		return pal_yaml_fail(y, &y->ev.start_mark,
				     "anchors and tags are not allowed");
	return 0;
}

/* Anchors, aliases and tags only add ways to say the same thing. */
static int
check_event(struct pal_yaml *y)
{
	const yaml_event_t *e = &y->ev;

	switch (e->type) {
	case YAML_ALIAS_EVENT:
		return pal_yaml_fail(y, &e->start_mark,
				     "aliases are not allowed");
	case YAML_SCALAR_EVENT:
		return no_anchor_or_tag(y, e->data.scalar.anchor,
					e->data.scalar.tag);
	case YAML_SEQUENCE_START_EVENT:
		return no_anchor_or_tag(y, e->data.sequence_start.anchor,
					e->data.sequence_start.tag);
	case YAML_MAPPING_START_EVENT:
		return no_anchor_or_tag(y, e->data.mapping_start.anchor,
					e->data.mapping_start.tag);
	case YAML_DOCUMENT_START_EVENT:
		if (e->data.document_start.tag_directives.start !=
		    e->data.document_start.tag_directives.end)
			return pal_yaml_fail(y, &e->start_mark,
					     "tag directives are not allowed");
		return 0;
	default:
		return 0;
	}
}

int
pal_yaml_next(struct pal_yaml *y)
{
	if (y->have_ev)
		yaml_event_delete(&y->ev);
	y->have_ev = 0;
	if (!yaml_parser_parse(&y->parser, &y->ev)) {
		if (y->parser.error == YAML_MEMORY_ERROR)
			return pal_yaml_nomem(y);
		return pal_yaml_fail(y, &y->parser.problem_mark,
				     "YAML syntax: %s",
				     y->parser.problem != NULL ?
				     y->parser.problem : "error");
	}
	y->have_ev = 1;
	return check_event(y);
}

int
pal_yaml_expect(struct pal_yaml *y, yaml_event_type_t type, const char *what)
{
	int rc;

	if ((rc = pal_yaml_next(y)) != 0)
		return rc;
	if (y->ev.type != type)
		return pal_yaml_fail(y, &y->ev.start_mark, "expected %s", what);
	return 0;
}

/* ---------------------------------------------------------------------
 * Scalars.
 */

int
pal_yaml_scalar_is(const yaml_event_t *ev, const char *s)
{
	size_t n = strlen(s);

	return ev->type == YAML_SCALAR_EVENT && ev->data.scalar.length == n &&
	       memcmp(ev->data.scalar.value, s, n) == 0;
}

/* "+1", "0x1f", "1e5", "2024", ".5": YAML would read it as a number. */
int
pal_yaml_numeric(const char *s, size_t n)
{
	static const char more[] = "0123456789abcdefABCDEFxXoO._:+-";
	size_t i = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i == n)
		return 0;
	if (!(s[i] >= '0' && s[i] <= '9') &&
	    !(s[i] == '.' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9'))
		return 0;
	for (; i < n; i++)
		if (memchr(more, s[i], sizeof(more) - 1) == NULL)
			return 0;
	return 1;
}

/* The plain scalars YAML 1.1 reads as null, a boolean or infinity/NaN. */
static const char *const yaml_words[] = {
	"~", "null", "Null", "NULL", "true", "True", "TRUE", "false",
	"False", "FALSE", "yes", "Yes", "YES", "no", "No", "NO", "on",
	"On", "ON", "off", "Off", "OFF", ".inf", ".Inf", ".INF",
	"+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
	".NaN", ".NAN",
};

int
pal_yaml_plain_non_string(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;

	if (ev->type != YAML_SCALAR_EVENT ||
	    ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	if (n == 0 || pal_yaml_numeric(s, n))
		return 1;
	for (size_t i = 0; i < PAL_YAML_NFIELDS(yaml_words); i++)
		if (pal_yaml_scalar_is(ev, yaml_words[i]))
			return 1;
	return 0;
}

int
pal_yaml_string(struct pal_yaml *y, const char *what, size_t max, char **out)
{
	const unsigned char *s = y->ev.data.scalar.value;
	size_t n = y->ev.data.scalar.length;
	char buf[PAL_YAML_PATH_MAX + 8];

	*out = NULL;
	what = subject(y, what, buf, sizeof(buf));
	if (y->ev.type != YAML_SCALAR_EVENT || pal_yaml_plain_non_string(&y->ev))
		return pal_yaml_fail(y, &y->ev.start_mark,
				     "%s must be a string%s", what,
				     y->ev.type == YAML_SCALAR_EVENT && n > 0 ?
				     " (quote it)" : "");
	if (n == 0)
		return pal_yaml_fail(y, &y->ev.start_mark, "%s is empty", what);
	if (n > max)
		return pal_yaml_fail(y, &y->ev.start_mark, "%s '%s' is longer "
				     "than %zu bytes", what, pal_yaml_shown(y),
				     max);
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return pal_yaml_fail(y, &y->ev.start_mark, "%s '%s' "
					     "holds a control character", what,
					     pal_yaml_shown(y));
	if ((*out = strndup((const char *)s, n)) == NULL)
		return pal_yaml_nomem(y);
	return 0;
}

/* The current event is a plain scalar of 1 to NUMBER_MAX bytes. */
static int
plain_short(const struct pal_yaml *y)
{
	return y->ev.type == YAML_SCALAR_EVENT &&
	       y->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       y->ev.data.scalar.length > 0 &&
	       y->ev.data.scalar.length <= NUMBER_MAX;
}

/*
 * Decimal digits s[0..n) without a leading zero (but "0"), into *v;
 * 0 when they are not, or overflow.
 */
static int
digits(const char *s, size_t n, uint64_t *v)
{
	*v = 0;
	if (n == 0 || (n > 1 && s[0] == '0'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || *v > (UINT64_MAX - d) / 10)
			return 0;
		*v = *v * 10 + d;
	}
	return 1;
}

/* Why a scalar is not the number asked for: quoted, or not a number. */
static int
not_a_number(struct pal_yaml *y, const char *what, const char *kind)
{
	if (y->ev.type == YAML_SCALAR_EVENT &&
	    y->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return pal_yaml_fail(y, &y->ev.start_mark, "%s must be %s, "
				     "not a string (remove the quotes)", what,
				     kind);
	if (y->ev.type == YAML_SCALAR_EVENT)
		return pal_yaml_fail(y, &y->ev.start_mark, "%s must be %s, "
				     "not '%s'", what, kind, pal_yaml_shown(y));
	return pal_yaml_fail(y, &y->ev.start_mark, "%s must be %s", what,
			     kind);
}

int
pal_yaml_uint(struct pal_yaml *y, const char *what, uint64_t min,
	      uint64_t max, uint64_t *out)
{
	char buf[PAL_YAML_PATH_MAX + 8];
	uint64_t v;

	*out = 0;
	what = subject(y, what, buf, sizeof(buf));
	if (!plain_short(y) ||
	    !digits((const char *)y->ev.data.scalar.value,
		    y->ev.data.scalar.length, &v))
		return not_a_number(y, what, "a whole number");
	if (v < min || v > max)
		return pal_yaml_fail(y, &y->ev.start_mark, "%s must be between "
				     "%llu and %llu", what,
				     (unsigned long long)min,
				     (unsigned long long)max);
	*out = v;
	return 0;
}

/* "12", "0.5", "1.25": digits, then at most FRACTION_MAX after a point. */
static int
decimal(const char *s, size_t n, double *out)
{
	const char *dot = memchr(s, '.', n);
	size_t ni = dot != NULL ? (size_t)(dot - s) : n, nf;
	uint64_t i, f = 0;
	double scale = 1;

	if (!digits(s, ni, &i))
		return 0;
	if (dot != NULL) {
		nf = n - ni - 1;
		if (nf == 0 || nf > FRACTION_MAX)
			return 0;
		for (size_t k = 0; k < nf; k++) {
			unsigned d = (unsigned char)dot[1 + k] - '0';

			if (d > 9)
				return 0;
			f = f * 10 + d;
			scale *= 10;
		}
	}
	*out = (double)i + (double)f / scale;
	return 1;
}

int
pal_yaml_number(struct pal_yaml *y, const char *what, double min,
		double max, double *out)
{
	char buf[PAL_YAML_PATH_MAX + 8];
	double v;

	*out = 0;
	what = subject(y, what, buf, sizeof(buf));
	if (!plain_short(y) ||
	    !decimal((const char *)y->ev.data.scalar.value,
		     y->ev.data.scalar.length, &v))
		return not_a_number(y, what, "a number");
	if (!(v >= min && v <= max))
		return pal_yaml_fail(y, &y->ev.start_mark, "%s must be between "
				     "%g and %g", what, min, max);
	*out = v;
	return 0;
}

int
pal_yaml_bool(struct pal_yaml *y, const char *what, int *out)
{
	char buf[PAL_YAML_PATH_MAX + 8];

	*out = 0;
	what = subject(y, what, buf, sizeof(buf));
	if (y->ev.type == YAML_SCALAR_EVENT &&
	    y->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (pal_yaml_scalar_is(&y->ev, "true")) {
			*out = 1;
			return 0;
		}
		if (pal_yaml_scalar_is(&y->ev, "false"))
			return 0;
	}
	return pal_yaml_fail(y, &y->ev.start_mark, "%s must be true or false",
			     what);
}

int
pal_yaml_enum(struct pal_yaml *y, const char *what, const char *const *names,
	      size_t n, int *out)
{
	char buf[PAL_YAML_PATH_MAX + 8];
	struct pal_buf list;
	int rc;

	*out = 0;
	what = subject(y, what, buf, sizeof(buf));
	for (size_t i = 0; i < n && y->ev.type == YAML_SCALAR_EVENT; i++) {
		if (pal_yaml_scalar_is(&y->ev, names[i])) {
			*out = (int)i;
			return 0;
		}
	}
	pal_buf_init(&list, 1024);
	for (size_t i = 0; i < n; i++)
		if (pal_buf_printf(&list, "%s%s", i > 0 ? ", " : "",
				   names[i]) != 0)
			break;
	rc = pal_yaml_fail(y, &y->ev.start_mark, "%s must be one of %s", what,
			   list.p != NULL ? (const char *)list.p : "");
	pal_buf_free(&list);
	return rc;
}

int
pal_yaml_version(struct pal_yaml *y, unsigned want)
{
	char w[16];

	snprintf(w, sizeof(w), "%u", want);
	if (y->ev.type == YAML_SCALAR_EVENT &&
	    y->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    pal_yaml_numeric((const char *)y->ev.data.scalar.value,
			     y->ev.data.scalar.length) &&
	    !pal_yaml_scalar_is(&y->ev, w))
		return pal_yaml_fail(y, &y->ev.start_mark, "unsupported "
				     "version '%s' (this palisade reads "
				     "version %u)", pal_yaml_shown(y), want);
	if (y->ev.type != YAML_SCALAR_EVENT ||
	    y->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    !pal_yaml_scalar_is(&y->ev, w))
		return pal_yaml_fail(y, &y->ev.start_mark, "'version' must be "
				     "the number %u", want);
	return 0;
}

/* ---------------------------------------------------------------------
 * Mappings and lists.
 */

/* Lists the names of a mapping's keys for a message. */
static const char *
known(struct pal_yaml *y, const struct pal_yaml_field *f, size_t nf)
{
	pal_buf_reset(&y->shown);
	for (size_t i = 0; i < nf; i++)
		if (pal_buf_printf(&y->shown, "%s%s", i > 0 ? ", " : "",
				   f[i].name) != 0)
			return "?";
	return y->shown.p != NULL ? (const char *)y->shown.p : "";
}

static int
unknown_key(struct pal_yaml *y, const struct pal_yaml_field *f, size_t nf,
	    const char *what)
{
	char key[300];

	snprintf(key, sizeof(key), "%s", pal_yaml_shown(y));
	if (what == NULL)
		return pal_yaml_fail_path(y, &y->ev.start_mark, "unknown key "
					  "'%s' (known: %s)", key,
					  known(y, f, nf));
	return pal_yaml_fail(y, &y->ev.start_mark, "unknown key '%s' in %s "
			     "(known: %s)", key, what, known(y, f, nf));
}

/*
 * The field a key names, or reports it unknown, repeated, or (when first
 * is set and nothing was seen yet) not f[0].
 */
static int
find_field(struct pal_yaml *y, const struct pal_yaml_field *f, size_t nf,
	   const char *what, int first, uint32_t *seen, size_t *idx)
{
	const yaml_mark_t *at = &y->ev.start_mark;
	size_t i;

	*idx = 0;
	if (y->ev.type != YAML_SCALAR_EVENT)
		return what == NULL ?
		       pal_yaml_fail_path(y, at, "keys must be strings") :
		       pal_yaml_fail(y, at, "keys of %s must be strings", what);
	for (i = 0; i < nf; i++)
		if (pal_yaml_scalar_is(&y->ev, f[i].name))
			break;
	if (i == nf)
		return unknown_key(y, f, nf, what);
	if (*seen & (UINT32_C(1) << i))
		return what == NULL ?
		       pal_yaml_fail_path(y, at, "duplicate key '%s'",
					  f[i].name) :
		       pal_yaml_fail(y, at, "duplicate key '%s' in %s",
				     f[i].name, what);
	if (first && *seen == 0 && i != 0)
		return what == NULL ?
		       pal_yaml_fail_path(y, at, "'%s' must come first",
					  f[0].name) :
		       pal_yaml_fail(y, at, "'%s' must come first in %s",
				     f[0].name, what);
	*seen |= UINT32_C(1) << i;
	*idx = i;
	return 0;
}

/* The value of f[i], read with the key's name on the key path. */
static int
field_value(struct pal_yaml *y, const struct pal_yaml_field *f, void *obj)
{
	size_t was = path_push(y, f->name, 0);
	int rc;

	if ((rc = pal_yaml_next(y)) == 0)
		rc = f->parse(y, obj);
	path_pop(y, was);
	return rc;
}

static int
read_mapping(struct pal_yaml *y, const struct pal_yaml_field *f, size_t nf,
	     const char *what, int first, void *obj)
{
	yaml_mark_t start = y->ev.start_mark;
	char buf[PAL_YAML_PATH_MAX + 8];
	uint32_t seen = 0;
	size_t i;
	int rc;

	if (nf > PAL_YAML_FIELDS_MAX)
		abort();
	if (y->ev.type != YAML_MAPPING_START_EVENT)
		return pal_yaml_fail(y, &y->ev.start_mark, "%s must be a "
				     "mapping", subject(y, what, buf,
							sizeof(buf)));
	for (;;) {
		if ((rc = pal_yaml_next(y)) != 0)
			return rc;
		if (y->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if ((rc = find_field(y, f, nf, what, first, &seen, &i)) != 0 ||
		    (rc = field_value(y, &f[i], obj)) != 0)
			return rc;
	}
	for (i = 0; i < nf; i++)
		if (f[i].missing != NULL && !(seen & (UINT32_C(1) << i)))
			return what == NULL ?
			       pal_yaml_fail_path(y, &start, "%s",
						  f[i].missing) :
			       pal_yaml_fail(y, &start, "%s", f[i].missing);
	return 0;
}

int
pal_yaml_mapping(struct pal_yaml *y, const struct pal_yaml_field *f,
		 size_t nf, const char *what, void *obj)
{
	return read_mapping(y, f, nf, what, 0, obj);
}

int
pal_yaml_list(struct pal_yaml *y, const char *what, size_t max,
	      int (*item)(struct pal_yaml *y, void *obj), void *obj,
	      size_t *count)
{
	size_t was;
	int rc;

	*count = 0;
	if (y->ev.type != YAML_SEQUENCE_START_EVENT)
		return what == NULL ?
		       pal_yaml_fail_path(y, &y->ev.start_mark,
					  "must be a list") :
		       pal_yaml_fail(y, &y->ev.start_mark, "'%s' must be a "
				     "list", what);
	for (;;) {
		if ((rc = pal_yaml_next(y)) != 0)
			return rc;
		if (y->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (*count == max)
			return what == NULL ?
			       pal_yaml_fail_path(y, &y->ev.start_mark,
						  "too many entries (at most "
						  "%zu)", max) :
			       pal_yaml_fail(y, &y->ev.start_mark, "too many "
					     "entries in '%s' (at most %zu)",
					     what, max);
		was = path_push(y, NULL, *count);
		rc = item(y, obj);
		path_pop(y, was);
		if (rc != 0)
			return rc;
		(*count)++;
	}
}

int
pal_yaml_grow(struct pal_yaml *y, void **v, size_t n, size_t size)
{
	void *nv = reallocarray(*v, n + 1, size);

	if (nv == NULL)
		return pal_yaml_nomem(y);
	memset((char *)nv + n * size, 0, size);
	*v = nv;
	return 0;
}

int
pal_yaml_push_string(struct pal_yaml *y, char ***v, size_t *n, char *s)
{
	void *nv = *v;
	int rc;

	if ((rc = pal_yaml_grow(y, &nv, *n, sizeof(**v))) != 0) {
		free(s);
		return rc;
	}
	*v = nv;
	(*v)[(*n)++] = s;
	return 0;
}

/* ---------------------------------------------------------------------
 * The document.
 */

int
pal_yaml_document(struct pal_yaml *y, const struct pal_yaml_field *f,
		  size_t nf, const char *what, const char *empty, int first,
		  void *obj)
{
	int rc;

	if ((rc = pal_yaml_expect(y, YAML_STREAM_START_EVENT,
				  "a YAML stream")) != 0 ||
	    (rc = pal_yaml_next(y)) != 0)
		return rc;
	if (y->ev.type == YAML_STREAM_END_EVENT)
		return pal_yaml_fail(y, &y->ev.start_mark, "%s (expected a "
				     "mapping with 'version: 1')", empty);
	if (y->ev.type != YAML_DOCUMENT_START_EVENT)
		return pal_yaml_fail(y, &y->ev.start_mark,
				     "expected a document");
	if ((rc = pal_yaml_expect(y, YAML_MAPPING_START_EVENT, "a mapping "
				  "with 'version: 1' at the top")) != 0 ||
	    (rc = read_mapping(y, f, nf, what, first, obj)) != 0 ||
	    (rc = pal_yaml_expect(y, YAML_DOCUMENT_END_EVENT,
				  "the end of the document")) != 0 ||
	    (rc = pal_yaml_next(y)) != 0)
		return rc;
	if (y->ev.type != YAML_STREAM_END_EVENT)
		return pal_yaml_fail(y, &y->ev.start_mark,
				     "only one document is allowed");
	return 0;
}

int
pal_yaml_begin(struct pal_yaml *y, const uint8_t *yaml, size_t len,
	       const char *name, void *ctx, struct pal_err *err)
{
	memset(y, 0, sizeof(*y));
	y->name = name;
	y->ctx = ctx;
	y->err = err;
	pal_buf_init(&y->shown, 1024);
	if (!yaml_parser_initialize(&y->parser)) {
		memset(&y->parser, 0, sizeof(y->parser));
		return pal_yaml_nomem(y);
	}
	yaml_parser_set_input_string(&y->parser, yaml, len);
	return 0;
}

void
pal_yaml_end(struct pal_yaml *y)
{
	if (y->have_ev)
		yaml_event_delete(&y->ev);
	y->have_ev = 0;
	yaml_parser_delete(&y->parser);
	pal_buf_free(&y->shown);
}
