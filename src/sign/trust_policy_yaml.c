/*
 * trust_policy_yaml.c - reads a trust policy file (docs/trust-policy.md):
 *
 *	version: 1
 *	sources:
 *	  - match: "huggingface.co/acme/model-*"
 *	    keys: [keys/acme-release.pub]
 *	    cas:
 *	      - root: pki/acme-root.pem
 *	        intermediates: [pki/acme-int.pem]
 *	    sigstore:
 *	      trusted_root: sigstore/trusted_root.json
 *	      identities:
 *	        - identity: release@acme.example
 *	          issuer: https://accounts.google.com
 *
 * The file decides whom verification trusts, so it is parsed strictly
 * with libyaml's event parser: one document, a mapping at the top, only
 * the keys above, each at most once and of its type (a string is never
 * a plain scalar YAML would read as null, a boolean or a number); no
 * anchors, aliases, tags or tag directives.  'version' comes first so
 * that nothing is read under the wrong meaning.  The files a rule names
 * are loaded as they are met (trust_policy_material.c).  Every error
 * names file:line:column.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <yaml.h>

#include "palisade/buf.h"
#include "palisade/text.h"
#include "trust_policy_int.h"

struct loader {
	yaml_parser_t parser;
	yaml_event_t ev;
	int have_ev;
	int have_version;
	struct pal_trust_policy *p;
	const char *base_dir;
	struct pal_err *err;
	struct pal_buf shown;
};

/*
 * A key of a mapping: its value is read by parse with the value's first
 * event current, into obj.  missing is the message when a required key is
 * absent (NULL: optional).
 */
struct field {
	const char *name;
	int (*parse)(struct loader *L, void *obj);
	const char *missing;
};

#define NFIELDS(f) (sizeof(f) / sizeof((f)[0]))

static int fail(struct loader *L, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_wrap(struct loader *L, int rc, const yaml_mark_t *m,
		     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Reports "name:line:column: detail" (1-based) as PAL_ERR_POLICY. */
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
	return pal_err_set(L->err, PAL_ERR_POLICY, "%s:%zu:%zu: %s",
			   L->p->name, m->line + 1, m->column + 1, detail);
}

/*
 * Puts "name:line:column: detail" before the error rc of a file the
 * policy names, already in L->err; rc stays the error.
 */
static int
fail_wrap(struct loader *L, int rc, const yaml_mark_t *m, const char *fmt,
	  ...)
{
	char detail[PAL_ERR_MSG_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (n < 0)
		detail[0] = '\0';
	return pal_err_wrap(L->err, rc, "%s:%zu:%zu: %s", L->p->name,
			    m->line + 1, m->column + 1, detail);
}

static int
nomem(struct loader *L)
{
	return pal_err_set(L->err, PAL_ERR_NOMEM, "%s: out of memory",
			   L->p->name);
}

/* The current scalar, escaped and cut at 64 bytes, for a message. */
static const char *
shown(struct loader *L)
{
	const char *s = (const char *)L->ev.data.scalar.value;
	size_t n = L->ev.data.scalar.length;

	pal_buf_reset(&L->shown);
	if (pal_text_escape(&L->shown, s, n > 64 ? 64 : n) != 0 ||
	    (n > 64 && pal_buf_puts(&L->shown, "...") != 0))
		return "?";
	return L->shown.p != NULL ? (const char *)L->shown.p : "";
}

static int
no_anchor_or_tag(struct loader *L, const yaml_char_t *anchor,
		 const yaml_char_t *tag)
{
	if (anchor != NULL || tag != NULL)
		return fail(L, &L->ev.start_mark,
			    "anchors and tags are not allowed");
	return 0;
}

/* Anchors, aliases and tags only add ways to say the same thing. */
static int
check_event(struct loader *L)
{
	const yaml_event_t *e = &L->ev;

	switch (e->type) {
	case YAML_ALIAS_EVENT:
		return fail(L, &e->start_mark, "aliases are not allowed");
	case YAML_SCALAR_EVENT:
		return no_anchor_or_tag(L, e->data.scalar.anchor,
					e->data.scalar.tag);
	case YAML_SEQUENCE_START_EVENT:
		return no_anchor_or_tag(L, e->data.sequence_start.anchor,
					e->data.sequence_start.tag);
	case YAML_MAPPING_START_EVENT:
		return no_anchor_or_tag(L, e->data.mapping_start.anchor,
					e->data.mapping_start.tag);
	case YAML_DOCUMENT_START_EVENT:
		if (e->data.document_start.tag_directives.start !=
		    e->data.document_start.tag_directives.end)
			return fail(L, &e->start_mark,
				    "tag directives are not allowed");
		return 0;
	default:
		return 0;
	}
}

static int
next(struct loader *L)
{
	if (L->have_ev)
		yaml_event_delete(&L->ev);
	L->have_ev = 0;
	if (!yaml_parser_parse(&L->parser, &L->ev)) {
		if (L->parser.error == YAML_MEMORY_ERROR)
			return nomem(L);
		return fail(L, &L->parser.problem_mark, "YAML syntax: %s",
			    L->parser.problem != NULL ? L->parser.problem :
			    "error");
	}
	L->have_ev = 1;
	return check_event(L);
}

static int
expect(struct loader *L, yaml_event_type_t type, const char *what)
{
	int rc;

	if ((rc = next(L)) != 0)
		return rc;
	if (L->ev.type != type)
		return fail(L, &L->ev.start_mark, "expected %s", what);
	return 0;
}

static int
scalar_is(const yaml_event_t *ev, const char *s)
{
	size_t n = strlen(s);

	return ev->data.scalar.length == n &&
	       memcmp(ev->data.scalar.value, s, n) == 0;
}

/* "+1", "0x1f", "1e5", "2024", ".5": YAML would read it as a number. */
static int
numeric(const char *s, size_t n)
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

/*
 * A plain scalar that a YAML reader would take for null, a boolean or a
 * number: as a string it would mean something else to another reader.
 */
static int
plain_non_string(const yaml_event_t *ev)
{
	static const char *const words[] = {
		"~", "null", "Null", "NULL", "true", "True", "TRUE", "false",
		"False", "FALSE", "yes", "Yes", "YES", "no", "No", "NO", "on",
		"On", "ON", "off", "Off", "OFF", ".inf", ".Inf", ".INF",
		"+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
		".NaN", ".NAN",
	};
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	if (n == 0 || numeric(s, n))
		return 1;
	for (size_t i = 0; i < NFIELDS(words); i++)
		if (scalar_is(ev, words[i]))
			return 1;
	return 0;
}

/*
 * The current event as a string of 1 to max bytes without control
 * characters (and so without NUL); what names it in messages.
 */
static int
get_string(struct loader *L, const char *what, size_t max, char **out)
{
	const unsigned char *s = L->ev.data.scalar.value;
	size_t n = L->ev.data.scalar.length;

	*out = NULL;
	if (L->ev.type != YAML_SCALAR_EVENT || plain_non_string(&L->ev))
		return fail(L, &L->ev.start_mark, "%s must be a string%s",
			    what, L->ev.type == YAML_SCALAR_EVENT &&
			    n > 0 ? " (quote it)" : "");
	if (n == 0)
		return fail(L, &L->ev.start_mark, "%s is empty", what);
	if (n > max)
		return fail(L, &L->ev.start_mark, "%s '%s' is longer than "
			    "%zu bytes", what, shown(L), max);
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return fail(L, &L->ev.start_mark, "%s '%s' holds a "
				    "control character", what, shown(L));
	if ((*out = strndup((const char *)s, n)) == NULL)
		return nomem(L);
	return 0;
}

/* Lists the names of a mapping's keys for a message. */
static const char *
known(struct loader *L, const struct field *f, size_t nf)
{
	pal_buf_reset(&L->shown);
	for (size_t i = 0; i < nf; i++)
		if (pal_buf_printf(&L->shown, "%s%s", i > 0 ? ", " : "",
				   f[i].name) != 0)
			return "?";
	return L->shown.p != NULL ? (const char *)L->shown.p : "";
}

/* The field a key names, or reports it unknown or repeated. */
static int
find_field(struct loader *L, const struct field *f, size_t nf,
	   const char *what, unsigned *seen, size_t *idx)
{
	size_t i;

	*idx = 0;
	if (L->ev.type != YAML_SCALAR_EVENT)
		return fail(L, &L->ev.start_mark, "keys of %s must be "
			    "strings", what);
	for (i = 0; i < nf; i++)
		if (scalar_is(&L->ev, f[i].name))
			break;
	if (i == nf) {
		char key[300];

		snprintf(key, sizeof(key), "%s", shown(L));
		return fail(L, &L->ev.start_mark, "unknown key '%s' in %s "
			    "(known: %s)", key, what, known(L, f, nf));
	}
	if (*seen & (1u << i))
		return fail(L, &L->ev.start_mark, "duplicate key '%s' in %s",
			    f[i].name, what);
	*seen |= 1u << i;
	*idx = i;
	return 0;
}

/*
 * A mapping whose start is the current event, read into obj: only the
 * keys of f, each at most once, every required one present.  Ends with
 * the mapping's end event current.
 */
static int
parse_mapping(struct loader *L, const struct field *f, size_t nf,
	      const char *what, void *obj)
{
	yaml_mark_t start = L->ev.start_mark;
	unsigned seen = 0;
	size_t i;
	int rc;

	if (L->ev.type != YAML_MAPPING_START_EVENT)
		return fail(L, &L->ev.start_mark, "%s must be a mapping",
			    what);
	for (;;) {
		if ((rc = next(L)) != 0)
			return rc;
		if (L->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if ((rc = find_field(L, f, nf, what, &seen, &i)) != 0 ||
		    (rc = next(L)) != 0 || (rc = f[i].parse(L, obj)) != 0)
			return rc;
	}
	for (i = 0; i < nf; i++)
		if (f[i].missing != NULL && !(seen & (1u << i)))
			return fail(L, &start, "%s", f[i].missing);
	return 0;
}

/*
 * A sequence whose start is the current event: item reads each element
 * (its first event current) into obj; at most max of them.  *count says
 * how many there were.
 */
static int
parse_list(struct loader *L, const char *what, size_t max,
	   int (*item)(struct loader *L, void *obj), void *obj,
	   size_t *count)
{
	int rc;

	*count = 0;
	if (L->ev.type != YAML_SEQUENCE_START_EVENT)
		return fail(L, &L->ev.start_mark, "'%s' must be a list",
			    what);
	for (;;) {
		if ((rc = next(L)) != 0)
			return rc;
		if (L->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (*count == max)
			return fail(L, &L->ev.start_mark, "too many entries "
				    "in '%s' (at most %zu)", what, max);
		if ((rc = item(L, obj)) != 0)
			return rc;
		(*count)++;
	}
}

/* Makes room for one more zeroed element after the n in *v. */
static int
grow(struct loader *L, void **v, size_t n, size_t size)
{
	void *nv = reallocarray(*v, n + 1, size);

	if (nv == NULL)
		return nomem(L);
	memset((char *)nv + n * size, 0, size);
	*v = nv;
	return 0;
}

/* ---------------------------------------------------------------------
 * Keys.
 */

static int
key_item(struct loader *L, void *obj)
{
	struct pal_trust_rule *r = obj;
	yaml_mark_t at = L->ev.start_mark;
	EVP_PKEY *k = NULL;
	void *v = r->keys;
	char *path;
	int rc;

	if ((rc = get_string(L, "a key path", PAL_TRUST_PATH_MAX, &path)) != 0)
		return rc;
	if ((rc = pal_trust_load_key(L->base_dir, path, &k, L->err)) != 0) {
		rc = fail_wrap(L, rc, &at, "key '%s': ", shown(L));
		goto out;
	}
	for (size_t i = 0; i < r->n_keys; i++) {
		if (EVP_PKEY_eq(r->keys[i], k) == 1) {
			rc = fail(L, &at, "key '%s' is the same key as entry "
				  "%zu of this rule's keys", shown(L), i + 1);
			goto out;
		}
	}
	ERR_clear_error();
	if ((rc = grow(L, &v, r->n_keys, sizeof(*r->keys))) != 0)
		goto out;
	r->keys = v;
	r->keys[r->n_keys++] = k;
	k = NULL;
out:
	ERR_clear_error();
	EVP_PKEY_free(k);
	free(path);
	return rc;
}

static int
parse_keys(struct loader *L, void *obj)
{
	size_t n;

	return parse_list(L, "keys", PAL_TRUST_MAX_KEYS, key_item, obj, &n);
}

/* ---------------------------------------------------------------------
 * Certificate authorities.
 */

/* Loads the certificate file named by the current scalar into into. */
static int
certs_item(struct loader *L, const char *what, int root,
	   STACK_OF(X509) *into)
{
	yaml_mark_t at = L->ev.start_mark;
	char *path;
	int rc;

	if ((rc = get_string(L, what, PAL_TRUST_PATH_MAX, &path)) != 0)
		return rc;
	rc = pal_trust_load_certs(L->base_dir, path, root, into, L->err);
	if (rc != 0)
		rc = fail_wrap(L, rc, &at, "%s '%s': ", root ? "root" :
			       "intermediate", shown(L));
	free(path);
	return rc;
}

static int
parse_ca_root(struct loader *L, void *obj)
{
	struct pal_trust_ca *ca = obj;

	return certs_item(L, "'root'", 1, ca->roots);
}

static int
inter_item(struct loader *L, void *obj)
{
	struct pal_trust_ca *ca = obj;

	if (ca->intermediates == NULL &&
	    (ca->intermediates = sk_X509_new_null()) == NULL)
		return nomem(L);
	return certs_item(L, "an intermediate path", 0, ca->intermediates);
}

static int
parse_ca_intermediates(struct loader *L, void *obj)
{
	size_t n;

	return parse_list(L, "intermediates", PAL_TRUST_MAX_INTERMEDIATES,
			  inter_item, obj, &n);
}

static int
ca_item(struct loader *L, void *obj)
{
	static const struct field fields[] = {
		{ "root", parse_ca_root, "cas entry has no 'root'" },
		{ "intermediates", parse_ca_intermediates, NULL },
	};
	struct pal_trust_rule *r = obj;
	struct pal_trust_ca *ca;
	void *v = r->cas;
	int rc;

	if ((rc = grow(L, &v, r->n_cas, sizeof(*r->cas))) != 0)
		return rc;
	r->cas = v;
	ca = &r->cas[r->n_cas++];
	if ((ca->roots = sk_X509_new_null()) == NULL)
		return nomem(L);
	if ((rc = parse_mapping(L, fields, NFIELDS(fields), "a cas entry",
				ca)) != 0)
		return rc;
	if (ca->intermediates != NULL && sk_X509_num(ca->intermediates) == 0) {
		sk_X509_free(ca->intermediates);
		ca->intermediates = NULL;
	}
	return 0;
}

static int
parse_cas(struct loader *L, void *obj)
{
	size_t n;

	return parse_list(L, "cas", PAL_TRUST_MAX_CAS, ca_item, obj, &n);
}

/* ---------------------------------------------------------------------
 * Sigstore.
 */

static int
parse_identity(struct loader *L, void *obj)
{
	struct pal_trust_identity *id = obj;

	return get_string(L, "'identity'", PAL_TRUST_ID_MAX, &id->identity);
}

static int
parse_issuer(struct loader *L, void *obj)
{
	struct pal_trust_identity *id = obj;

	return get_string(L, "'issuer'", PAL_TRUST_ID_MAX, &id->issuer);
}

static int
id_item(struct loader *L, void *obj)
{
	static const struct field fields[] = {
		{ "identity", parse_identity,
		  "identities entry has no 'identity'" },
		{ "issuer", parse_issuer, "identities entry has no 'issuer'" },
	};
	struct pal_trust_rule *r = obj;
	struct pal_trust_identity *id;
	yaml_mark_t at = L->ev.start_mark;
	void *v = r->ids;
	int rc;

	if ((rc = grow(L, &v, r->n_ids, sizeof(*r->ids))) != 0)
		return rc;
	r->ids = v;
	id = &r->ids[r->n_ids++];
	if ((rc = parse_mapping(L, fields, NFIELDS(fields),
				"an identities entry", id)) != 0)
		return rc;
	for (size_t i = 0; i + 1 < r->n_ids; i++)
		if (strcmp(r->ids[i].identity, id->identity) == 0 &&
		    strcmp(r->ids[i].issuer, id->issuer) == 0)
			return fail(L, &at, "identity '%s' with issuer '%s' "
				    "is listed twice", id->identity,
				    id->issuer);
	return 0;
}

static int
parse_identities(struct loader *L, void *obj)
{
	yaml_mark_t at = L->ev.start_mark;
	size_t n;
	int rc;

	rc = parse_list(L, "identities", PAL_TRUST_MAX_IDS, id_item, obj, &n);
	if (rc == 0 && n == 0)
		rc = fail(L, &at, "'identities' is empty (to trust no "
			  "Sigstore signer, leave out 'sigstore')");
	return rc;
}

static int
parse_trusted_root(struct loader *L, void *obj)
{
	struct pal_trust_rule *r = obj;
	yaml_mark_t at = L->ev.start_mark;
	char *path;
	int rc;

	if ((rc = get_string(L, "'trusted_root'", PAL_TRUST_PATH_MAX,
			     &path)) != 0)
		return rc;
	rc = pal_trust_load_root(L->p, L->base_dir, path, &r->trusted_root,
				 L->err);
	if (rc != 0)
		rc = fail_wrap(L, rc, &at, "trusted_root '%s': ", shown(L));
	free(path);
	return rc;
}

static int
parse_sigstore(struct loader *L, void *obj)
{
	static const struct field fields[] = {
		{ "trusted_root", parse_trusted_root,
		  "sigstore has no 'trusted_root'" },
		{ "identities", parse_identities,
		  "sigstore has no 'identities'" },
	};

	return parse_mapping(L, fields, NFIELDS(fields), "sigstore", obj);
}

/* ---------------------------------------------------------------------
 * Rules.
 */

/* A glob of stars only matches every source. */
static int
matches_all(const char *glob)
{
	return glob[strspn(glob, "*")] == '\0';
}

static int
parse_match(struct loader *L, void *obj)
{
	struct pal_trust_rule *r = obj;
	const struct pal_trust_policy *p = L->p;
	int rc;

	if ((rc = get_string(L, "'match'", PAL_TRUST_MATCH_MAX,
			     &r->match)) != 0)
		return rc;
	/* The rule being read is the last one. */
	for (size_t i = 0; i + 1 < p->n_rules; i++)
		if (strcmp(p->rules[i].match, r->match) == 0)
			return fail(L, &L->ev.start_mark, "duplicate match "
				    "'%s' (the rule at line %zu has it "
				    "already)", shown(L), p->rules[i].line);
	return 0;
}

/* A rule after one that matches everything would never be used. */
static int
check_reachable(struct loader *L)
{
	const struct pal_trust_policy *p = L->p;

	for (size_t i = 0; i < p->n_rules; i++)
		if (matches_all(p->rules[i].match))
			return fail(L, &L->ev.start_mark, "this rule is never "
				    "used: the rule at line %zu ('%s') "
				    "matches every source before it",
				    p->rules[i].line, p->rules[i].match);
	return 0;
}

static int
rule_item(struct loader *L, void *obj)
{
	static const struct field fields[] = {
		{ "match", parse_match, "rule has no 'match'" },
		{ "keys", parse_keys, NULL },
		{ "cas", parse_cas, NULL },
		{ "sigstore", parse_sigstore, NULL },
	};
	struct pal_trust_policy *p = L->p;
	void *v = p->rules;
	int rc;

	(void)obj;
	if (L->ev.type != YAML_MAPPING_START_EVENT)
		return fail(L, &L->ev.start_mark, "a rule must be a mapping "
			    "with 'match'");
	if ((rc = check_reachable(L)) != 0 ||
	    (rc = grow(L, &v, p->n_rules, sizeof(*p->rules))) != 0)
		return rc;
	p->rules = v;
	p->rules[p->n_rules].line = L->ev.start_mark.line + 1;
	p->n_rules++;
	return parse_mapping(L, fields, NFIELDS(fields), "a rule",
			     &p->rules[p->n_rules - 1]);
}

/* ---------------------------------------------------------------------
 * The document.
 */

static int
parse_version(struct loader *L, void *obj)
{
	(void)obj;
	if (L->ev.type == YAML_SCALAR_EVENT &&
	    L->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    numeric((const char *)L->ev.data.scalar.value,
		    L->ev.data.scalar.length) && !scalar_is(&L->ev, "1"))
		return fail(L, &L->ev.start_mark, "unsupported version '%s' "
			    "(this palisade reads version 1)", shown(L));
	if (L->ev.type != YAML_SCALAR_EVENT ||
	    L->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    !scalar_is(&L->ev, "1"))
		return fail(L, &L->ev.start_mark, "'version' must be the "
			    "number 1");
	L->have_version = 1;
	return 0;
}

static int
parse_sources(struct loader *L, void *obj)
{
	yaml_mark_t at = L->ev.start_mark;
	size_t n;
	int rc;

	(void)obj;
	if (!L->have_version)
		return fail(L, &at, "'version: 1' must come before 'sources'");
	rc = parse_list(L, "sources", PAL_TRUST_MAX_RULES, rule_item, NULL,
			&n);
	if (rc == 0 && n == 0)
		rc = fail(L, &at, "'sources' lists no rule");
	return rc;
}

static int
parse_document(struct loader *L)
{
	static const struct field fields[] = {
		{ "version", parse_version, "missing 'version: 1'" },
		{ "sources", parse_sources, "missing 'sources' (the list of "
		  "rules)" },
	};
	int rc;

	if ((rc = expect(L, YAML_STREAM_START_EVENT, "a YAML stream")) != 0 ||
	    (rc = next(L)) != 0)
		return rc;
	if (L->ev.type == YAML_STREAM_END_EVENT)
		return fail(L, &L->ev.start_mark, "empty trust policy "
			    "(expected a mapping with 'version: 1')");
	if (L->ev.type != YAML_DOCUMENT_START_EVENT)
		return fail(L, &L->ev.start_mark, "expected a document");
	if ((rc = expect(L, YAML_MAPPING_START_EVENT, "a mapping with "
			 "'version: 1' at the top")) != 0 ||
	    (rc = parse_mapping(L, fields, NFIELDS(fields), "the policy",
				NULL)) != 0 ||
	    (rc = expect(L, YAML_DOCUMENT_END_EVENT,
			 "the end of the document")) != 0 ||
	    (rc = next(L)) != 0)
		return rc;
	if (L->ev.type != YAML_STREAM_END_EVENT)
		return fail(L, &L->ev.start_mark,
			    "only one document is allowed");
	return 0;
}

int
pal_trust_policy_read_yaml(struct pal_trust_policy *p, const uint8_t *yaml,
			   size_t len, const char *base_dir,
			   struct pal_err *err)
{
	struct loader L;
	int rc;

	memset(&L, 0, sizeof(L));
	L.p = p;
	L.base_dir = base_dir;
	L.err = err;
	pal_buf_init(&L.shown, 1024);
	if (!yaml_parser_initialize(&L.parser))
		return nomem(&L);
	yaml_parser_set_input_string(&L.parser, yaml, len);
	rc = parse_document(&L);
	if (L.have_ev)
		yaml_event_delete(&L.ev);
	yaml_parser_delete(&L.parser);
	pal_buf_free(&L.shown);
	return rc;
}
