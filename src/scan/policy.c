/*
 * policy.c - the allowlist policy: judges every global a pickle names.
 *
 * A pickle can only reach Python objects through find_class(module, name),
 * so the globals it names are its whole power.  The judge models what
 * find_class would do with them and answers:
 *
 *   DANGEROUS  the import or an attribute walked on the way reaches
 *              something on the dangerous list (policy_danger.c), a policy
 *              file's deny list, a dunder attribute, a dangerous module or
 *              callable reached as an attribute, or a module object;
 *   ALLOWED    otherwise, if the exact pair is on the allowlist of an
 *              enabled profile (policy_allowlist.c) or a policy file's
 *              allow list;
 *   UNKNOWN    anything else, including names find_class cannot resolve
 *              (empty, NUL, not identifiers): harmless, but not clean.
 *
 * The strings come from hostile files: they are handled with explicit
 * lengths, never assumed NUL-terminated, and copied only into a bounded
 * stack buffer.  Policy files are parsed by policy_file.c.
 */
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

static const char WHY_UNKNOWN[] = "not on the allowlist";
static const char WHY_EMPTY[] = "malformed global: empty module or name";
static const char WHY_MALFORMED[] =
    "malformed global: a component is not a Python identifier";
static const char WHY_LONG[] = "malformed global: too long or too deep";
static const char WHY_DUNDER[] =
    "attribute access gadget: reaches a dunder attribute";
static const char WHY_ATTR_MODULE[] =
    "attribute access gadget: reaches a dangerous module through an attribute";
static const char WHY_ATTR_CALL[] =
    "attribute access gadget: reaches a dangerous callable by name";
static const char WHY_MODULE_OBJECT[] =
    "module object: a pickle can overwrite its attributes";
static const char WHY_DENIED[] = "denied by policy";

/*
 * Names that, met as an attribute of something else, are almost surely the
 * module of that name (numpy.testing._private.utils.os), so the walk has
 * reached it.  Used for every attribute component.
 */
static const char *const attr_modules[] = {
	"__builtin__", "_io", "_pickle", "asyncio", "builtins", "cPickle",
	"ctypes", "http", "importlib", "io", "marshal", "multiprocessing",
	"nt", "os", "pathlib", "pickle", "pkgutil", "posix", "pty",
	"requests", "runpy", "shutil", "signal", "socket", "subprocess",
	"sys", "tempfile", "threading", "urllib", "webbrowser",
};

/*
 * Callables that no model needs to name, met as an attribute anywhere
 * (the dunders, such as __import__, are the dunder rule's).  A module's
 * "load" or "eval" is reached by getattr whatever module it is.
 */
static const char *const attr_callables[] = {
	"breakpoint", "compile", "delattr", "eval", "exec", "execfile",
	"getattr", "globals", "input", "load", "loads", "locals", "open",
	"popen", "setattr", "system", "vars",
};

static const struct {
	const char *name;
	unsigned bit;
} profiles[] = {
	{ "builtins", PAL_PROFILE_BUILTINS },
	{ "torch", PAL_PROFILE_TORCH },
	{ "numpy", PAL_PROFILE_NUMPY },
	{ "sklearn", PAL_PROFILE_SKLEARN },
	{ "joblib", PAL_PROFILE_JOBLIB },
	{ "scipy", PAL_PROFILE_SCIPY },
	{ "joblib-legacy", PAL_PROFILE_JOBLIB_LEGACY },
};

unsigned
pal_policy_profile_bit(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (pal_policy_strcmp(name, len, profiles[i].name) == 0)
			return profiles[i].bit;
	return 0;
}

/*
 * One pass, without strlen: the judge compares a lot (every lookup is a
 * binary search), and most comparisons end at the first byte.
 */
int
pal_policy_strcmp(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (y == '\0')
			return 1;
		if (x != y)
			return x < y ? -1 : 1;
	}
	return b[alen] == '\0' ? 0 : -1;
}

/* ---------------------------------------------------------------------
 * The path a global walks: module components, then name components.
 */

struct gpath {
	char buf[PAL_POLICY_PATH_MAX];
	size_t len;
	size_t end[PAL_POLICY_COMPONENTS_MAX];	/* end of component i in buf */
	size_t n;				/* components in buf */
	size_t nmod;				/* of which the module's */
};

/* ASCII identifier: what find_class can import or walk to in practice. */
static int
is_ident(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(c == '_' || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

static int
is_dunder(const char *s, size_t n)
{
	return n >= 4 && s[0] == '_' && s[1] == '_' && s[n - 2] == '_' &&
	    s[n - 1] == '_';
}

static int
in_list(const char *const *list, size_t count, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (pal_policy_strcmp(s, n, list[i]) == 0)
			return 1;
	return 0;
}

/* Appends one component; 0, or -1 when the path would be too long. */
static int
gpath_push(struct gpath *g, const char *s, size_t n)
{
	size_t need = n + (g->n > 0 ? 1 : 0);

	if (g->n >= PAL_POLICY_COMPONENTS_MAX ||
	    need >= sizeof(g->buf) - g->len)
		return -1;
	if (g->n > 0)
		g->buf[g->len++] = '.';
	memcpy(g->buf + g->len, s, n);
	g->len += n;
	g->buf[g->len] = '\0';
	g->end[g->n++] = g->len;
	return 0;
}

/* Length of the next '.'-separated component of s[0..n). */
static size_t
component_len(const char *s, size_t n)
{
	const char *dot = memchr(s, '.', n);

	return dot == NULL ? n : (size_t)(dot - s);
}

/* ---------------------------------------------------------------------
 * Lookups.
 */

static int
danger_cmp(const void *a, const void *b)
{
	const struct pal_danger *x = *(const struct pal_danger *const *)a;
	const struct pal_danger *y = *(const struct pal_danger *const *)b;

	return strcmp(x->path, y->path);
}

const struct pal_danger *
pal_policy_danger_find(const struct pal_policy *p, const char *path,
    size_t len)
{
	size_t lo = 0, hi = p->ndanger;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = pal_policy_strcmp(path, len, p->danger[mid]->path);

		if (c == 0)
			return p->danger[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Index of the first string >= key in a sorted array of C strings. */
static size_t
strings_lower(char *const *v, size_t n, const char *key, size_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pal_policy_strcmp(key, len, v[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
strings_has(char *const *v, size_t n, const char *key, size_t len)
{
	size_t i = strings_lower(v, n, key, len);

	return i < n && pal_policy_strcmp(key, len, v[i]) == 0;
}

static int
pair_cmp(const char *m, size_t mlen, const char *n, size_t nlen,
    const char *em, const char *en)
{
	int c = pal_policy_strcmp(m, mlen, em);

	return c != 0 ? c : pal_policy_strcmp(n, nlen, en);
}

static const struct pal_allow *
builtin_find(const char *m, size_t mlen, const char *n, size_t nlen)
{
	size_t lo = 0, hi = pal_allow_builtin_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pal_allow *e = &pal_allow_builtin[mid];
		int c = pair_cmp(m, mlen, n, nlen, e->module, e->name);

		if (c == 0)
			return e;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int
user_find(const struct pal_user_entry *v, size_t count, const char *m,
    size_t mlen, const char *n, size_t nlen)
{
	size_t lo = 0, hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = pair_cmp(m, mlen, n, nlen, v[mid].module, v[mid].name);

		if (c == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* Does m name the module path[0..len) or a module inside it? */
static int
module_within(const char *m, const char *path, size_t len)
{
	return strncmp(m, path, len) == 0 && (m[len] == '\0' || m[len] == '.');
}

/*
 * Does path name a module the allowlist knows, or a parent package of
 * one?  Both tables are sorted by module, and every module that starts
 * with "path." sorts right after "path" itself (identifiers have no
 * character below '.'), so the first entry not below path decides.
 */
static int
known_module(const struct pal_policy *p, const char *path, size_t len)
{
	size_t lo = 0, hi = pal_allow_builtin_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pal_policy_strcmp(path, len, pal_allow_builtin[mid].module) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < pal_allow_builtin_count &&
	    module_within(pal_allow_builtin[lo].module, path, len))
		return 1;
	lo = 0;
	hi = p->nallow;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pal_policy_strcmp(path, len, p->allow[mid].module) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < p->nallow && module_within(p->allow[lo].module, path, len))
		return 1;
	/* A policy file's "module.*" names a module too. */
	lo = strings_lower(p->allow_mod, p->nallow_mod, path, len);
	return lo < p->nallow_mod && module_within(p->allow_mod[lo], path, len);
}

/* ---------------------------------------------------------------------
 * The judge.
 */

struct verdict {
	const char *danger;	/* why it is dangerous, or NULL */
	size_t danger_len;	/* length of the path prefix that matched */
	const char *bad;	/* why find_class would fail, or NULL */
};

static void
flag_danger(struct verdict *v, const char *why, size_t len)
{
	/*
	 * A list entry's reason beats a name rule's (len 0), the longest
	 * entry is the most precise, and among rules the first met explains
	 * best where the walk went wrong.
	 */
	if (v->danger == NULL || len > v->danger_len) {
		v->danger = why;
		v->danger_len = len;
	}
}

/* Checks the path as walked so far against the lists. */
static void
check_prefix(const struct pal_policy *p, const struct gpath *g, int use_deny,
    struct verdict *v)
{
	const struct pal_danger *d;

	if ((d = pal_policy_danger_find(p, g->buf, g->len)) != NULL)
		flag_danger(v, d->why, g->len);
	if (use_deny && strings_has(p->deny, p->ndeny, g->buf, g->len))
		flag_danger(v, WHY_DENIED, g->len);
}

/* Checks one attribute component (a part of the name, not the module). */
static void
check_attribute(const char *s, size_t n, int exempt, struct verdict *v)
{
	if (is_dunder(s, n) && !exempt)
		flag_danger(v, WHY_DUNDER, 0);
	if (in_list(attr_modules, sizeof(attr_modules) / sizeof(attr_modules[0]),
	    s, n))
		flag_danger(v, WHY_ATTR_MODULE, 0);
	if (in_list(attr_callables,
	    sizeof(attr_callables) / sizeof(attr_callables[0]), s, n))
		flag_danger(v, WHY_ATTR_CALL, 0);
}

/*
 * Walks module then name as find_class does: the import of each module
 * component, then getattr for each name component.  The walk stops where
 * find_class would fail; what was reached before still counts.
 */
static void
walk(const struct pal_policy *p, struct gpath *g, const char *module,
    size_t mlen, const char *name, size_t nlen, int use_deny, int exempt,
    struct verdict *v)
{
	size_t off, c;

	for (off = 0; off <= mlen; off += c + 1) {
		c = component_len(module + off, mlen - off);
		if (!is_ident(module + off, c)) {
			v->bad = WHY_MALFORMED;
			return;
		}
		if (gpath_push(g, module + off, c) != 0) {
			v->bad = WHY_LONG;
			return;
		}
		check_prefix(p, g, use_deny, v);
	}
	g->nmod = g->n;
	for (off = 0; off <= nlen; off += c + 1) {
		c = component_len(name + off, nlen - off);
		if (!is_ident(name + off, c)) {
			v->bad = WHY_MALFORMED;
			return;
		}
		if (gpath_push(g, name + off, c) != 0) {
			v->bad = WHY_LONG;
			return;
		}
		check_prefix(p, g, use_deny, v);
		check_attribute(name + off, c, exempt, v);
	}
	/* Only the object the global resolves to matters, not modules passed. */
	if (known_module(p, g->buf, g->len))
		flag_danger(v, WHY_MODULE_OBJECT, 0);
}

/* A "module.*" entry of a policy file covers a prefix of the path. */
static int
user_wildcard(const struct pal_policy *p, const struct gpath *g, size_t upto)
{
	size_t i;

	for (i = 0; i < upto; i++)
		if (strings_has(p->allow_mod, p->nallow_mod, g->buf, g->end[i]))
			return 1;
	return 0;
}

/*
 * Is the walked path allowed?  The exact (module, name) pair, or for a
 * dotted name any split (module + "." + prefix, rest) of it.
 */
static int
allowed(const struct pal_policy *p, const struct gpath *g)
{
	const struct pal_allow *e;
	size_t s, mend;

	for (s = g->nmod; s < g->n; s++) {
		mend = g->end[s - 1];
		e = builtin_find(g->buf, mend, g->buf + mend + 1,
		    g->len - mend - 1);
		if (e != NULL && (e->profiles & p->profiles) != 0 &&
		    (s == g->nmod || (e->flags & PAL_ALLOW_WALK) != 0))
			return 1;
		if (user_find(p->allow, p->nallow, g->buf, mend,
		    g->buf + mend + 1, g->len - mend - 1))
			return 1;
	}
	return user_wildcard(p, g, g->n - 1);
}

static enum pal_global_verdict
judge_one(const struct pal_policy *p, const char *module, size_t mlen,
    const char *name, size_t nlen, int use_deny, int exempt,
    const char **why)
{
	struct verdict v = { NULL, 0, NULL };
	struct gpath g;

	g.len = 0;
	g.n = 0;
	g.nmod = 0;
	g.buf[0] = '\0';
	if (mlen == 0 || nlen == 0) {
		*why = WHY_EMPTY;
		return PAL_GLOBAL_UNKNOWN;
	}
	walk(p, &g, module, mlen, name, nlen, use_deny, exempt, &v);
	if (v.danger != NULL) {
		*why = v.danger;
		return PAL_GLOBAL_DANGEROUS;
	}
	if (v.bad != NULL) {
		*why = v.bad;
		return PAL_GLOBAL_UNKNOWN;
	}
	if (allowed(p, &g)) {
		*why = NULL;
		return PAL_GLOBAL_ALLOWED;
	}
	*why = WHY_UNKNOWN;
	return PAL_GLOBAL_UNKNOWN;
}

/* Could a component of name be a dunder?  Saves a lookup when not. */
static int
maybe_dunder(const char *name, size_t nlen)
{
	size_t i;

	for (i = 1; i < nlen; i++)
		if (name[i] == '_' && name[i - 1] == '_')
			return 1;
	return 0;
}

/* _compat_pickle's mapping of a Python 2 name, if it has one. */
static int
compat_map(const char *module, size_t mlen, const char *name, size_t nlen,
    const char **to_module, const char **to_name, int *live)
{
	size_t lo = 0, hi = pal_compat_names_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pal_compat_name *e = &pal_compat_names[mid];
		int c = pair_cmp(module, mlen, name, nlen, e->from_module,
		    e->from_name);

		if (c == 0) {
			*to_module = e->to_module;
			*to_name = e->to_name;
			*live = e->live;
			return 1;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	lo = 0;
	hi = pal_compat_modules_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pal_compat_module *e = &pal_compat_modules[mid];
		int c = pal_policy_strcmp(module, mlen, e->from);

		if (c == 0) {
			*to_module = e->to;
			*to_name = NULL;
			*live = e->live;
			return 1;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/*
 * The judge does not know the pickle's protocol, so a name that
 * _compat_pickle maps is judged both ways: dangerous if either is, allowed
 * if the mapped name is and the raw one is too or cannot resolve in
 * Python 3 (the raw module or name no longer exists).
 */
static enum pal_global_verdict
judge(const struct pal_policy *p, const char *module, size_t mlen,
    const char *name, size_t nlen, int use_deny, const char **why)
{
	enum pal_global_verdict raw, mapped;
	const char *to_module, *to_name, *why_raw, *why_mapped;
	size_t to_mlen, to_nlen;
	int live, exempt;

	/*
	 * The few dunder names on the allowlist (copyreg.__newobj__) are
	 * exempt from the dunder rule, under their Python 2 names too.
	 */
	exempt = maybe_dunder(name, nlen) &&
	    builtin_find(module, mlen, name, nlen) != NULL;
	if (!compat_map(module, mlen, name, nlen, &to_module, &to_name, &live)) {
		return judge_one(p, module, mlen, name, nlen, use_deny, exempt,
		    why);
	}
	to_mlen = strlen(to_module);
	if (to_name == NULL) {
		to_name = name;
		to_nlen = nlen;
	} else
		to_nlen = strlen(to_name);
	exempt = exempt || (maybe_dunder(to_name, to_nlen) &&
	    builtin_find(to_module, to_mlen, to_name, to_nlen) != NULL);
	raw = judge_one(p, module, mlen, name, nlen, use_deny, exempt,
	    &why_raw);
	mapped = judge_one(p, to_module, to_mlen, to_name, to_nlen, use_deny,
	    exempt, &why_mapped);
	/* The mapped name is what Python 3 reaches: its reason first. */
	if (mapped == PAL_GLOBAL_DANGEROUS) {
		*why = why_mapped;
		return mapped;
	}
	if (raw == PAL_GLOBAL_DANGEROUS) {
		*why = why_raw;
		return raw;
	}
	if (mapped == PAL_GLOBAL_ALLOWED &&
	    (raw == PAL_GLOBAL_ALLOWED || !live)) {
		*why = NULL;
		return PAL_GLOBAL_ALLOWED;
	}
	*why = mapped == PAL_GLOBAL_ALLOWED ? why_raw : why_mapped;
	return PAL_GLOBAL_UNKNOWN;
}

enum pal_global_verdict
pal_policy_judge(const struct pal_policy *p, const char *module,
    size_t module_len, const char *name, size_t name_len, const char **why)
{
	const char *w = NULL;
	enum pal_global_verdict r;

	if (p == NULL || (module == NULL && module_len > 0) ||
	    (name == NULL && name_len > 0))
		abort();
	if (module == NULL)
		module = "";
	if (name == NULL)
		name = "";
	r = judge(p, module, module_len, name, name_len, 1, &w);
	if (why != NULL)
		*why = w;
	return r;
}

int
pal_policy_builtin_dangerous(const struct pal_policy *p, const char *module,
    size_t module_len, const char *name, size_t name_len, const char **why)
{
	const char *w = NULL;

	if (judge(p, module, module_len, name, name_len, 0, &w) !=
	    PAL_GLOBAL_DANGEROUS)
		return 0;
	*why = w;
	return 1;
}

int
pal_policy_module_dangerous(const struct pal_policy *p, const char *module,
    size_t module_len, const char **why)
{
	const struct pal_danger *d, *found = NULL;
	size_t off, c;

	for (off = 0; off <= module_len; off += c + 1) {
		c = component_len(module + off, module_len - off);
		d = pal_policy_danger_find(p, module, off + c);
		if (d != NULL)
			found = d;
	}
	if (found == NULL)
		return 0;
	*why = found->why;
	return 1;
}

/* ---------------------------------------------------------------------
 * Life cycle.
 */

int
pal_policy_new_default(struct pal_policy **out, struct pal_err *err)
{
	struct pal_policy *p;
	size_t i;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	p->danger = calloc(pal_danger_builtin_count, sizeof(*p->danger));
	if (p->danger == NULL) {
		free(p);
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	for (i = 0; i < pal_danger_builtin_count; i++)
		p->danger[i] = &pal_danger_builtin[i];
	p->ndanger = pal_danger_builtin_count;
	qsort(p->danger, p->ndanger, sizeof(*p->danger), danger_cmp);
	p->profiles = PAL_PROFILE_DEFAULT;
	*out = p;
	return 0;
}

void
pal_policy_free(struct pal_policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nallow; i++) {
		free(p->allow[i].module);
		free(p->allow[i].name);
	}
	for (i = 0; i < p->nallow_mod; i++)
		free(p->allow_mod[i]);
	for (i = 0; i < p->ndeny; i++)
		free(p->deny[i]);
	free(p->allow);
	free(p->allow_mod);
	free(p->deny);
	free(p->danger);
	free(p);
}
