/*
 * policy_file.c - loads an organization's policy file (docs/policy.md):
 *
 *	version: 1
 *	profiles: [torch, numpy]
 *	allow: ["mypkg.model:Net", "mypkg.layers.*"]
 *	deny: ["numpy.polynomial.*"]
 *
 * A policy file may come from someone else, so it is parsed strictly with
 * libyaml's event parser: one document, a mapping at the top, only the
 * keys above, each at most once, each with the right type; no anchors,
 * aliases or tags.  Every entry must be a well-formed "module:qualname" or
 * "module.*"; an allow entry that the dangerous list covers is refused.
 * Any error names file:line:column and leaves the policy as it was: the
 * file is parsed into a scratch list first and merged only when all of it
 * was accepted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "palisade/buf.h"
#include "palisade/file.h"
#include "palisade/text.h"
#include "policy_int.h"

/* An entry from the file, with where it was for messages. */
struct entry {
	char *module;
	char *name;		/* NULL for "module.*" */
	size_t line, col;
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

struct loader {
	yaml_parser_t parser;
	yaml_event_t ev;
	int have_ev;
	const char *name;
	struct pal_err *err;
	const struct pal_policy *p;
	size_t budget;		/* entries the policy may still take */
	unsigned seen;		/* keys met so far, KEY_* bits */
	unsigned profiles;
	struct entries allow, deny;
};

enum {
	KEY_VERSION = 1 << 0,
	KEY_PROFILES = 1 << 1,
	KEY_ALLOW = 1 << 2,
	KEY_DENY = 1 << 3,
};

static int fail(struct loader *L, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reports "name:line:column: detail" (1-based) and returns PAL_ERR_POLICY. */
static int
fail(struct loader *L, const yaml_mark_t *m, const char *fmt, ...)
{
	char detail[PAL_ERR_MSG_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (n < 0)
		detail[0] = '\0';
	return pal_err_set(L->err, PAL_ERR_POLICY, "%s:%zu:%zu: %s", L->name,
	    m->line + 1, m->column + 1, detail);
}

/* A scalar from the file, made printable for a message. */
static const char *
shown(struct pal_buf *b, const yaml_event_t *ev)
{
	size_t n = ev->data.scalar.length;

	pal_buf_reset(b);
	if (n > 64)
		n = 64;
	if (pal_text_escape(b, (const char *)ev->data.scalar.value, n) != 0 ||
	    (ev->data.scalar.length > n && pal_buf_puts(b, "...") != 0))
		return "?";
	return b->p != NULL ? (const char *)b->p : "";
}

static int
next(struct loader *L)
{
	if (L->have_ev)
		yaml_event_delete(&L->ev);
	L->have_ev = 0;
	if (!yaml_parser_parse(&L->parser, &L->ev)) {
		if (L->parser.error == YAML_MEMORY_ERROR)
			return pal_err_set(L->err, PAL_ERR_NOMEM,
			    "%s: out of memory", L->name);
		return fail(L, &L->parser.problem_mark, "YAML syntax: %s",
		    L->parser.problem != NULL ? L->parser.problem : "error");
	}
	L->have_ev = 1;
	/* Anchors, aliases and tags only add ways to say the same thing. */
	switch (L->ev.type) {
	case YAML_ALIAS_EVENT:
		return fail(L, &L->ev.start_mark, "aliases are not allowed");
	case YAML_SCALAR_EVENT:
		if (L->ev.data.scalar.anchor != NULL ||
		    L->ev.data.scalar.tag != NULL)
			return fail(L, &L->ev.start_mark,
			    "anchors and tags are not allowed");
		break;
	case YAML_SEQUENCE_START_EVENT:
		if (L->ev.data.sequence_start.anchor != NULL ||
		    L->ev.data.sequence_start.tag != NULL)
			return fail(L, &L->ev.start_mark,
			    "anchors and tags are not allowed");
		break;
	case YAML_MAPPING_START_EVENT:
		if (L->ev.data.mapping_start.anchor != NULL ||
		    L->ev.data.mapping_start.tag != NULL)
			return fail(L, &L->ev.start_mark,
			    "anchors and tags are not allowed");
		break;
	default:
		break;
	}
	return 0;
}

static int
scalar_is(const yaml_event_t *ev, const char *s)
{
	return pal_policy_strcmp((const char *)ev->data.scalar.value,
	    ev->data.scalar.length, s) == 0;
}

/* Dotted Python identifiers: "a", "a.b_c", never "", "a.", ".a", "a..b". */
static int
dotted_ident(const char *s, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			unsigned char c = (unsigned char)s[i];

			if (!(c == '_' || (c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z') ||
			    (i > start && c >= '0' && c <= '9')))
				return 0;
			continue;
		}
		if (i == start)
			return 0;
		start = i + 1;
	}
	return 1;
}

static int
entries_push(struct loader *L, struct entries *es, char *module, char *name)
{
	struct entry *v;

	if (es->n == es->cap) {
		size_t cap = es->cap == 0 ? 16 : es->cap * 2;

		if ((v = reallocarray(es->v, cap, sizeof(*v))) == NULL)
			return pal_err_set(L->err, PAL_ERR_NOMEM,
			    "%s: out of memory", L->name);
		es->v = v;
		es->cap = cap;
	}
	es->v[es->n].module = module;
	es->v[es->n].name = name;
	es->v[es->n].line = L->ev.start_mark.line;
	es->v[es->n].col = L->ev.start_mark.column;
	es->n++;
	return 0;
}

static void
entries_free(struct entries *es)
{
	size_t i;

	for (i = 0; i < es->n; i++) {
		free(es->v[i].module);
		free(es->v[i].name);
	}
	free(es->v);
	es->v = NULL;
	es->n = es->cap = 0;
}

/*
 * Splits an entry into module and name (NULL for "module.*") and checks
 * its syntax.  The scalar is the current event.
 */
static int
parse_entry(struct loader *L, const char *kind, char **module, char **name)
{
	const char *s = (const char *)L->ev.data.scalar.value;
	size_t n = L->ev.data.scalar.length, mlen;
	const char *colon;
	struct pal_buf b;
	int r;

	*module = *name = NULL;
	pal_buf_init(&b, 512);
	if (n == 0 || n > PAL_POLICY_ENTRY_MAX) {
		r = fail(L, &L->ev.start_mark, "%s entry '%s': %s", kind,
		    shown(&b, &L->ev), n == 0 ? "empty" : "too long");
		goto out;
	}
	colon = memchr(s, ':', n);
	if (colon != NULL) {
		mlen = (size_t)(colon - s);
		if (!dotted_ident(s, mlen) ||
		    !dotted_ident(colon + 1, n - mlen - 1)) {
			r = fail(L, &L->ev.start_mark, "%s entry '%s': expected "
			    "module:qualname or module.* (Python identifiers "
			    "separated by dots)", kind, shown(&b, &L->ev));
			goto out;
		}
		*module = strndup(s, mlen);
		*name = strndup(colon + 1, n - mlen - 1);
	} else if (n > 2 && s[n - 2] == '.' && s[n - 1] == '*' &&
	    dotted_ident(s, n - 2)) {
		*module = strndup(s, n - 2);
	} else {
		r = fail(L, &L->ev.start_mark, "%s entry '%s': expected "
		    "module:qualname or module.* (Python identifiers separated "
		    "by dots)", kind, shown(&b, &L->ev));
		goto out;
	}
	if (*module == NULL || (colon != NULL && *name == NULL)) {
		r = pal_err_set(L->err, PAL_ERR_NOMEM, "%s: out of memory",
		    L->name);
		goto out;
	}
	r = 0;
out:
	if (r != 0) {
		free(*module);
		free(*name);
		*module = *name = NULL;
	}
	pal_buf_free(&b);
	return r;
}

/* An allow entry the dangerous list covers is refused, not ignored. */
static int
check_allow(struct loader *L, const char *module, const char *name)
{
	const char *why = NULL;
	int bad;
	struct pal_buf b;
	int r;

	if (name == NULL)
		bad = pal_policy_module_dangerous(L->p, module, strlen(module),
		    &why);
	else
		bad = pal_policy_builtin_dangerous(L->p, module, strlen(module),
		    name, strlen(name), &why);
	if (!bad)
		return 0;
	pal_buf_init(&b, 512);
	r = fail(L, &L->ev.start_mark, "allow entry '%s' is on the dangerous "
	    "list (%s); a policy file cannot allow it",
	    shown(&b, &L->ev), why);
	pal_buf_free(&b);
	return r;
}

/* A sequence of entries for allow: or deny:. */
static int
parse_entries(struct loader *L, const char *kind, struct entries *es,
    int is_allow)
{
	char *module, *name;
	int r;

	if (L->ev.type != YAML_SEQUENCE_START_EVENT)
		return fail(L, &L->ev.start_mark, "'%s' must be a list of "
		    "\"module:qualname\" or \"module.*\" strings", kind);
	for (;;) {
		if ((r = next(L)) != 0)
			return r;
		if (L->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (L->ev.type != YAML_SCALAR_EVENT)
			return fail(L, &L->ev.start_mark, "'%s' entries must be "
			    "strings", kind);
		if (L->budget == 0)
			return fail(L, &L->ev.start_mark, "too many entries "
			    "(at most %u in all policy files)",
			    PAL_POLICY_ENTRIES_MAX);
		if ((r = parse_entry(L, kind, &module, &name)) != 0)
			return r;
		if ((is_allow && (r = check_allow(L, module, name)) != 0) ||
		    (r = entries_push(L, es, module, name)) != 0) {
			free(module);
			free(name);
			return r;
		}
		L->budget--;
	}
}

static int
parse_profiles(struct loader *L)
{
	struct pal_buf b;
	unsigned bit;
	int r;

	if (L->ev.type != YAML_SEQUENCE_START_EVENT)
		return fail(L, &L->ev.start_mark, "'profiles' must be a list of "
		    "profile names");
	L->profiles = 0;
	for (;;) {
		if ((r = next(L)) != 0)
			return r;
		if (L->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (L->ev.type != YAML_SCALAR_EVENT)
			return fail(L, &L->ev.start_mark, "profile names must be "
			    "strings");
		bit = pal_policy_profile_bit((const char *)L->ev.data.scalar.value,
		    L->ev.data.scalar.length);
		pal_buf_init(&b, 512);
		r = 0;
		if (bit == 0)
			r = fail(L, &L->ev.start_mark, "unknown profile '%s' "
			    "(known: builtins, torch, numpy, sklearn, joblib, "
			    "scipy, joblib-legacy)", shown(&b, &L->ev));
		else if (L->profiles & bit)
			r = fail(L, &L->ev.start_mark, "duplicate profile '%s'",
			    shown(&b, &L->ev));
		pal_buf_free(&b);
		if (r != 0)
			return r;
		L->profiles |= bit;
	}
}

static int
parse_version(struct loader *L)
{
	if (L->ev.type != YAML_SCALAR_EVENT ||
	    L->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    !scalar_is(&L->ev, "1"))
		return fail(L, &L->ev.start_mark, "'version' must be 1");
	return 0;
}

/* One key of the top-level mapping and its value. */
static int
parse_key(struct loader *L)
{
	static const struct {
		const char *name;
		unsigned bit;
	} keys[] = {
		{ "version", KEY_VERSION }, { "profiles", KEY_PROFILES },
		{ "allow", KEY_ALLOW }, { "deny", KEY_DENY },
	};
	struct pal_buf b;
	unsigned bit = 0;
	size_t i;
	int r;

	if (L->ev.type != YAML_SCALAR_EVENT)
		return fail(L, &L->ev.start_mark, "keys must be strings");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (scalar_is(&L->ev, keys[i].name))
			bit = keys[i].bit;
	pal_buf_init(&b, 512);
	if (bit == 0)
		r = fail(L, &L->ev.start_mark, "unknown key '%s' (known: "
		    "version, profiles, allow, deny)", shown(&b, &L->ev));
	else if (L->seen & bit)
		r = fail(L, &L->ev.start_mark, "duplicate key '%s'",
		    shown(&b, &L->ev));
	else
		r = 0;
	pal_buf_free(&b);
	if (r != 0)
		return r;
	L->seen |= bit;
	if ((r = next(L)) != 0)
		return r;
	switch (bit) {
	case KEY_VERSION:
		return parse_version(L);
	case KEY_PROFILES:
		return parse_profiles(L);
	case KEY_ALLOW:
		return parse_entries(L, "allow", &L->allow, 1);
	default:
		return parse_entries(L, "deny", &L->deny, 0);
	}
}

static int
expect(struct loader *L, yaml_event_type_t type, const char *what)
{
	int r;

	if ((r = next(L)) != 0)
		return r;
	if (L->ev.type != type)
		return fail(L, &L->ev.start_mark, "expected %s", what);
	return 0;
}

static int
parse_document(struct loader *L)
{
	yaml_mark_t start;
	int r;

	if ((r = expect(L, YAML_STREAM_START_EVENT, "a YAML stream")) != 0)
		return r;
	if ((r = next(L)) != 0)
		return r;
	if (L->ev.type == YAML_STREAM_END_EVENT)
		return fail(L, &L->ev.start_mark, "empty policy file "
		    "(expected a mapping with 'version: 1')");
	if (L->ev.type != YAML_DOCUMENT_START_EVENT)
		return fail(L, &L->ev.start_mark, "expected a document");
	if ((r = expect(L, YAML_MAPPING_START_EVENT,
	    "a mapping with 'version: 1' at the top")) != 0)
		return r;
	start = L->ev.start_mark;
	for (;;) {
		if ((r = next(L)) != 0)
			return r;
		if (L->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if ((r = parse_key(L)) != 0)
			return r;
	}
	if (!(L->seen & KEY_VERSION))
		return fail(L, &start, "missing 'version: 1'");
	if ((r = expect(L, YAML_DOCUMENT_END_EVENT, "the end of the document"))
	    != 0)
		return r;
	if ((r = next(L)) != 0)
		return r;
	if (L->ev.type != YAML_STREAM_END_EVENT)
		return fail(L, &L->ev.start_mark, "only one document is allowed");
	return 0;
}

/* ---------------------------------------------------------------------
 * Merging into the policy.
 */

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->module, y->module);

	if (c != 0)
		return c;
	if (x->name == NULL || y->name == NULL)
		return (x->name != NULL) - (y->name != NULL);
	return strcmp(x->name, y->name);
}

/* Same entry twice in one list of the file: name the later one. */
static int
check_duplicates(struct loader *L, struct entries *es, const char *kind)
{
	yaml_mark_t m;
	size_t i;
	const struct entry *a, *b;

	if (es->n < 2)
		return 0;
	qsort(es->v, es->n, sizeof(*es->v), entry_cmp);
	for (i = 1; i < es->n; i++) {
		a = &es->v[i - 1];
		b = &es->v[i];
		if (entry_cmp(a, b) != 0)
			continue;
		if (a->line > b->line || (a->line == b->line && a->col > b->col))
			b = a;
		memset(&m, 0, sizeof(m));
		m.line = b->line;
		m.column = b->col;
		return fail(L, &m, "duplicate %s entry '%s%s%s'", kind,
		    b->module, b->name != NULL ? ":" : ".",
		    b->name != NULL ? b->name : "*");
	}
	return 0;
}

static int
user_cmp(const void *a, const void *b)
{
	const struct pal_user_entry *x = a, *y = b;
	int c = strcmp(x->module, y->module);

	return c != 0 ? c : strcmp(x->name, y->name);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Drops adjacent equal strings of a sorted array, freeing the copies. */
static size_t
strings_uniq(char **v, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (k > 0 && strcmp(v[k - 1], v[i]) == 0) {
			free(v[i]);
			continue;
		}
		v[k++] = v[i];
	}
	return k;
}

static size_t
users_uniq(struct pal_user_entry *v, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (k > 0 && user_cmp(&v[k - 1], &v[i]) == 0) {
			free(v[i].module);
			free(v[i].name);
			continue;
		}
		v[k++] = v[i];
	}
	return k;
}

/* "module:qualname" becomes the path "module.qualname"; "module.*" "module". */
static char *
deny_path(const struct entry *e)
{
	size_t m = strlen(e->module), n;
	char *s;

	if (e->name == NULL)
		return strdup(e->module);
	n = strlen(e->name);
	if ((s = malloc(m + 1 + n + 1)) == NULL)
		return NULL;
	memcpy(s, e->module, m);
	s[m] = '.';
	memcpy(s + m + 1, e->name, n + 1);
	return s;
}

/*
 * Builds the new arrays beside the old ones, then swaps them in: until
 * the swap nothing the policy owns has changed.
 */
static int
merge(struct loader *L, struct pal_policy *p)
{
	struct pal_user_entry *allow = NULL;
	char **mods = NULL, **deny = NULL;
	size_t na = p->nallow, nm = p->nallow_mod, nd = p->ndeny, i;
	int r = PAL_ERR_NOMEM;

	for (i = 0; i < L->allow.n; i++) {
		if (L->allow.v[i].name != NULL)
			na++;
		else
			nm++;
	}
	nd += L->deny.n;
	allow = calloc(na + 1, sizeof(*allow));
	mods = calloc(nm + 1, sizeof(*mods));
	deny = calloc(nd + 1, sizeof(*deny));
	if (allow == NULL || mods == NULL || deny == NULL)
		goto out;
	/* New deny paths first: the only step that allocates strings. */
	for (i = 0; i < L->deny.n; i++)
		if ((deny[p->ndeny + i] = deny_path(&L->deny.v[i])) == NULL)
			goto out;
	if (p->ndeny > 0)
		memcpy(deny, p->deny, p->ndeny * sizeof(*deny));
	if (p->nallow > 0)
		memcpy(allow, p->allow, p->nallow * sizeof(*allow));
	if (p->nallow_mod > 0)
		memcpy(mods, p->allow_mod, p->nallow_mod * sizeof(*mods));
	na = p->nallow;
	nm = p->nallow_mod;
	for (i = 0; i < L->allow.n; i++) {
		struct entry *e = &L->allow.v[i];

		if (e->name != NULL) {
			allow[na].module = e->module;
			allow[na++].name = e->name;
		} else
			mods[nm++] = e->module;
		e->module = e->name = NULL;	/* now owned by the arrays */
	}
	qsort(allow, na, sizeof(*allow), user_cmp);
	qsort(mods, nm, sizeof(*mods), str_cmp);
	qsort(deny, nd, sizeof(*deny), str_cmp);
	free(p->allow);
	free(p->allow_mod);
	free(p->deny);
	p->allow = allow;
	p->nallow = users_uniq(allow, na);
	p->allow_mod = mods;
	p->nallow_mod = strings_uniq(mods, nm);
	p->deny = deny;
	p->ndeny = strings_uniq(deny, nd);
	if (L->seen & KEY_PROFILES)
		p->profiles = L->profiles;
	allow = NULL;
	mods = deny = NULL;
	r = 0;
out:
	if (r != 0) {
		if (deny != NULL)
			for (i = 0; i < L->deny.n; i++)
				free(deny[p->ndeny + i]);
		r = pal_err_set(L->err, PAL_ERR_NOMEM, "%s: out of memory",
		    L->name);
	}
	free(allow);
	free(mods);
	free(deny);
	return r;
}

static size_t
policy_entries(const struct pal_policy *p)
{
	return p->nallow + p->nallow_mod + p->ndeny;
}

int
pal_policy_load_buffer(struct pal_policy *p, const void *data, size_t len,
    const char *name, struct pal_err *err)
{
	struct loader L;
	int r;

	if (p == NULL || (data == NULL && len > 0) || name == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
		    "policy: invalid argument");
	if (len > PAL_POLICY_FILE_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT, "%s: policy file larger "
		    "than %u bytes", name, PAL_POLICY_FILE_MAX);
	memset(&L, 0, sizeof(L));
	L.name = name;
	L.err = err;
	L.p = p;
	L.budget = PAL_POLICY_ENTRIES_MAX - policy_entries(p);
	if (!yaml_parser_initialize(&L.parser))
		return pal_err_set(err, PAL_ERR_NOMEM, "%s: out of memory", name);
	yaml_parser_set_input_string(&L.parser,
	    (const unsigned char *)(data != NULL ? data : ""), len);
	if ((r = parse_document(&L)) != 0 ||
	    (r = check_duplicates(&L, &L.allow, "allow")) != 0 ||
	    (r = check_duplicates(&L, &L.deny, "deny")) != 0)
		goto out;
	r = merge(&L, p);
out:
	if (L.have_ev)
		yaml_event_delete(&L.ev);
	yaml_parser_delete(&L.parser);
	entries_free(&L.allow);
	entries_free(&L.deny);
	return r;
}

int
pal_policy_load_file(struct pal_policy *p, const char *path,
    struct pal_err *err)
{
	uint8_t *data = NULL;
	size_t len;
	int r;

	if (p == NULL || path == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
		    "policy: invalid argument");
	if ((r = pal_file_read(path, PAL_POLICY_FILE_MAX, &data, &len,
	    err)) != 0)
		return r;
	r = pal_policy_load_buffer(p, data, len, path, err);
	free(data);
	return r;
}
