/*
 * witness_policy.c - k-of-n witness policies in the Sigsum policy syntax
 * (see cosig.h), and checking a signed checkpoint against one.
 *
 * The policy is configuration, but it decides whether a checkpoint is
 * trusted, so it is read strictly: anything the syntax does not define is
 * an error naming its line, never skipped, and every key is parsed and
 * checked when the policy is read.  A group may only name what earlier
 * lines defined, so the definitions form a list in which each group's
 * members come before it; the check evaluates that list once, in order.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "palisade/cosig.h"
#include "palisade/encoding.h"
#include "palisade/file.h"
#include "palisade/text.h"
#include "note_int.h"

#define MAX_NODES (1 + PAL_WITNESS_POLICY_MAX_WITNESSES + \
		   PAL_WITNESS_POLICY_MAX_GROUPS)
#define MAX_FIELDS (3 + MAX_NODES)
#define NAME_SHOWN 64		/* bytes of a name quoted in a message */

struct wp_log {
	EVP_PKEY *key;			/* hex key: signs under the origin */
	struct pal_note_verifier *v;	/* vkey: signs under its name */
};

/* A name: a witness, or a group of earlier names ("none" is one). */
struct wp_node {
	char name[PAL_NOTE_NAME_MAX + 1];
	int witness;			/* index, or -1 for a group */
	size_t k;
	size_t n;
	size_t *members;		/* node indexes, each earlier */
};

struct pal_witness_policy {
	struct wp_log logs[PAL_WITNESS_POLICY_MAX_LOGS];
	size_t n_logs;
	struct pal_cosig_verifier *witnesses[PAL_WITNESS_POLICY_MAX_WITNESSES];
	size_t n_witnesses;
	struct wp_node nodes[MAX_NODES];
	size_t n_nodes;
	size_t quorum;
	int has_quorum;
};

struct field {
	const char *p;
	size_t n;
};

/* Parse state: the policy being built and the line being read. */
struct parse {
	struct pal_witness_policy *pol;
	size_t line;
	struct pal_err *err;
};

static int
fail(struct parse *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
fail(struct parse *ps, const char *fmt, ...)
{
	char msg[PAL_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pal_err_set(ps->err, PAL_ERR_POLICY, "line %zu: %s", ps->line,
			   msg);
}

static int
field_is(const struct field *f, const char *s)
{
	return f->n == strlen(s) && memcmp(f->p, s, f->n) == 0;
}

/* The node named f, or -1. */
static long
find_node(const struct pal_witness_policy *pol, const struct field *f)
{
	for (size_t i = 0; i < pol->n_nodes; i++)
		if (field_is(f, pol->nodes[i].name))
			return (long)i;
	return -1;
}

/* 64 hex digits of an Ed25519 public key, either case (as Sigsum). */
static int
hex_key(const struct field *f, uint8_t pub[PAL_NOTE_ED25519_PUB_LEN])
{
	if (f->n != 2 * PAL_NOTE_ED25519_PUB_LEN)
		return -1;
	for (size_t i = 0; i < PAL_NOTE_ED25519_PUB_LEN; i++) {
		int hi = pal_hex_value(f->p[2 * i]);
		int lo = pal_hex_value(f->p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		pub[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int
is_vkey(const struct field *f)
{
	return memchr(f->p, '+', f->n) != NULL;
}

/* A new name: not defined before, and a sensible length. */
static int
new_name(struct parse *ps, const struct field *f)
{
	if (f->n > PAL_NOTE_NAME_MAX)
		return fail(ps, "name of %zu bytes (at most %d)", f->n,
			    PAL_NOTE_NAME_MAX);
	if (find_node(ps->pol, f) >= 0)
		return fail(ps, "'%.*s' is already defined",
			    (int)(f->n < NAME_SHOWN ? f->n : NAME_SHOWN),
			    f->p);
	if (ps->pol->n_nodes == MAX_NODES)
		return fail(ps, "too many names");
	return 0;
}

static struct wp_node *
add_node(struct pal_witness_policy *pol, const struct field *f)
{
	struct wp_node *nd = &pol->nodes[pol->n_nodes++];

	memcpy(nd->name, f->p, f->n);
	nd->name[f->n] = '\0';
	nd->witness = -1;
	return nd;
}

static int
log_key(struct parse *ps, const struct field *f, struct wp_log *l)
{
	uint8_t pub[PAL_NOTE_ED25519_PUB_LEN];
	struct pal_err e;

	if (is_vkey(f)) {
		if (pal_note_verifier_parse(f->p, f->n, &l->v, &e) < 0)
			return fail(ps, "log key: %s", e.msg);
		return 0;
	}
	if (hex_key(f, pub) < 0)
		return fail(ps, "log key is neither 64 hex digits nor a vkey");
	l->key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
					     sizeof(pub));
	ERR_clear_error();
	if (l->key == NULL)
		return pal_err_set(ps->err, PAL_ERR_CRYPTO,
				   "line %zu: cannot load the log key",
				   ps->line);
	return 0;
}

static EVP_PKEY *
log_pkey(const struct wp_log *l)
{
	return l->v != NULL ? l->v->key : l->key;
}

/* log <key> [<url>] */
static int
parse_log(struct parse *ps, const struct field *f, size_t nf)
{
	struct pal_witness_policy *pol = ps->pol;
	struct wp_log *l;
	int rc;

	if (nf < 2 || nf > 3)
		return fail(ps, "log takes a key and an optional URL");
	if (pol->n_logs == PAL_WITNESS_POLICY_MAX_LOGS)
		return fail(ps, "more than %d logs",
			    PAL_WITNESS_POLICY_MAX_LOGS);
	l = &pol->logs[pol->n_logs];
	if ((rc = log_key(ps, &f[1], l)) < 0)
		return rc;
	pol->n_logs++;
	for (size_t i = 0; i + 1 < pol->n_logs; i++)
		if (EVP_PKEY_eq(log_pkey(&pol->logs[i]), log_pkey(l)) == 1)
			return fail(ps, "the key of an earlier log line is "
				    "repeated");
	ERR_clear_error();
	return 0;
}

static int
witness_key(struct parse *ps, const struct field *name,
	    const struct field *f, struct pal_cosig_verifier **w)
{
	uint8_t pub[PAL_NOTE_ED25519_PUB_LEN];
	struct pal_err e;

	if (is_vkey(f)) {
		if (pal_cosig_verifier_parse(f->p, f->n, w, &e) < 0)
			return fail(ps, "%s", e.msg);
		if (!field_is(name, (*w)->name))
			return fail(ps, "witness '%.*s' has a vkey named '%s'",
				    (int)name->n, name->p, (*w)->name);
		return 0;
	}
	if (hex_key(f, pub) < 0)
		return fail(ps, "witness key is neither 64 hex digits nor a "
			    "vkey");
	/* The name was checked as a key name: it is a C string here. */
	char s[PAL_NOTE_NAME_MAX + 1];
	memcpy(s, name->p, name->n);
	s[name->n] = '\0';
	if (pal_cosig_verifier_new(s, pub, w, &e) < 0)
		return fail(ps, "%s", e.msg);
	return 0;
}

/* witness <name> <key> [<url>] */
static int
parse_witness(struct parse *ps, const struct field *f, size_t nf)
{
	struct pal_witness_policy *pol = ps->pol;
	struct pal_cosig_verifier *w = NULL;
	struct wp_node *nd;
	int rc;

	if (nf < 3 || nf > 4)
		return fail(ps, "witness takes a name, a key and an optional "
			    "URL");
	if ((rc = new_name(ps, &f[1])) < 0)
		return rc;
	if (pal_note_check_name((const uint8_t *)f[1].p, f[1].n, NULL) < 0)
		return fail(ps, "witness name '%.*s' is not a key name (no "
			    "'+' or spaces)", (int)f[1].n, f[1].p);
	if (pol->n_witnesses == PAL_WITNESS_POLICY_MAX_WITNESSES)
		return fail(ps, "more than %d witnesses",
			    PAL_WITNESS_POLICY_MAX_WITNESSES);
	if ((rc = witness_key(ps, &f[1], &f[2], &w)) < 0) {
		pal_cosig_verifier_free(w);
		return rc;
	}
	for (size_t i = 0; i < pol->n_witnesses; i++) {
		if (memcmp(pol->witnesses[i]->pub, w->pub,
			   sizeof(w->pub)) == 0) {
			rc = fail(ps, "witness '%s' has the key of witness "
				  "'%s'", w->name, pol->witnesses[i]->name);
			pal_cosig_verifier_free(w);
			return rc;
		}
	}
	nd = add_node(pol, &f[1]);
	nd->witness = (int)pol->n_witnesses;
	pol->witnesses[pol->n_witnesses++] = w;
	return 0;
}

/* any, all, or a decimal k without sign or leading zero, 1 <= k <= n. */
static int
parse_threshold(struct parse *ps, const struct field *f, size_t n,
		size_t *k)
{
	size_t v = 0;

	if (field_is(f, "any")) {
		*k = 1;
		return 0;
	}
	if (field_is(f, "all")) {
		*k = n;
		return 0;
	}
	for (size_t i = 0; i < f->n; i++) {
		if (f->p[i] < '0' || f->p[i] > '9' || (i == 0 && f->p[i] == '0')
		    || v > MAX_NODES)
			return fail(ps, "threshold is not any, all or a "
				    "number from 1");
		v = v * 10 + (size_t)(f->p[i] - '0');
	}
	if (v < 1 || v > n)
		return fail(ps, "threshold %zu of %zu members", v, n);
	*k = v;
	return 0;
}

/* The members of a group: defined earlier, each once. */
static int
parse_members(struct parse *ps, const struct field *f, size_t n,
	      size_t *members)
{
	for (size_t i = 0; i < n; i++) {
		long at = find_node(ps->pol, &f[i]);
		if (at < 0)
			return fail(ps, "'%.*s' is not defined on an earlier "
				    "line", (int)(f[i].n < NAME_SHOWN ?
						  f[i].n : NAME_SHOWN),
				    f[i].p);
		for (size_t j = 0; j < i; j++)
			if (members[j] == (size_t)at)
				return fail(ps, "'%s' is listed twice",
					    ps->pol->nodes[at].name);
		members[i] = (size_t)at;
	}
	return 0;
}

/* group <name> <k>|any|all <member>... */
static int
parse_group(struct parse *ps, const struct field *f, size_t nf)
{
	struct pal_witness_policy *pol = ps->pol;
	size_t n = nf - 3, k = 0, *members;
	size_t groups = pol->n_nodes - pol->n_witnesses - 1;
	struct wp_node *nd;
	int rc;

	if (nf < 4)
		return fail(ps, "group takes a name, a threshold and at "
			    "least one member");
	if (groups == PAL_WITNESS_POLICY_MAX_GROUPS)
		return fail(ps, "more than %d groups",
			    PAL_WITNESS_POLICY_MAX_GROUPS);
	if ((rc = new_name(ps, &f[1])) < 0 ||
	    (rc = parse_threshold(ps, &f[2], n, &k)) < 0)
		return rc;
	if ((members = calloc(n, sizeof(*members))) == NULL)
		return pal_err_set(ps->err, PAL_ERR_NOMEM, "out of memory");
	if ((rc = parse_members(ps, &f[3], n, members)) < 0) {
		free(members);
		return rc;
	}
	nd = add_node(pol, &f[1]);
	nd->k = k;
	nd->n = n;
	nd->members = members;
	return 0;
}

/* quorum <name> */
static int
parse_quorum(struct parse *ps, const struct field *f, size_t nf)
{
	long at;

	if (nf != 2)
		return fail(ps, "quorum takes one name");
	if (ps->pol->has_quorum)
		return fail(ps, "a second quorum line");
	if ((at = find_node(ps->pol, &f[1])) < 0)
		return fail(ps, "quorum '%.*s' is not defined on an earlier "
			    "line", (int)(f[1].n < NAME_SHOWN ? f[1].n :
					  NAME_SHOWN), f[1].p);
	ps->pol->quorum = (size_t)at;
	ps->pol->has_quorum = 1;
	return 0;
}

/* Splits a line (comment removed) at spaces and tabs. */
static int
split(struct parse *ps, const char *p, size_t n, struct field *f,
      size_t *nf)
{
	size_t i = 0;

	*nf = 0;
	while (i < n) {
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i == n)
			break;
		if (*nf == MAX_FIELDS)
			return fail(ps, "more than %d items", MAX_FIELDS);
		f[*nf].p = p + i;
		while (i < n && p[i] != ' ' && p[i] != '\t')
			i++;
		f[*nf].n = (size_t)(p + i - f[*nf].p);
		(*nf)++;
	}
	return 0;
}

static int
parse_line(struct parse *ps, const char *p, size_t n, struct field *f)
{
	const char *hash = memchr(p, '#', n);
	size_t nf;
	int rc;

	if (hash != NULL)
		n = (size_t)(hash - p);
	if ((rc = split(ps, p, n, f, &nf)) < 0 || nf == 0)
		return rc;
	if (field_is(&f[0], "log"))
		return parse_log(ps, f, nf);
	if (field_is(&f[0], "witness"))
		return parse_witness(ps, f, nf);
	if (field_is(&f[0], "group"))
		return parse_group(ps, f, nf);
	if (field_is(&f[0], "quorum"))
		return parse_quorum(ps, f, nf);
	return fail(ps, "unknown keyword '%.*s'", (int)(f[0].n < NAME_SHOWN ?
		    f[0].n : NAME_SHOWN), f[0].p);
}

/* UTF-8, and no control character but tab and newline, line by line. */
static int
check_text(struct parse *ps, const char *text, size_t len)
{
	size_t at = 0;

	ps->line = 0;
	while (at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl != NULL ? (size_t)(nl - (text + at)) : len - at;
		ps->line++;
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)text[at + i];
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return fail(ps, "control character 0x%02x",
					    ch);
		}
		if (!pal_utf8_valid(text + at, n))
			return fail(ps, "not UTF-8");
		at += n + (nl != NULL);
	}
	return 0;
}

static int
parse_text(struct parse *ps, const char *text, size_t len)
{
	struct field *f = calloc(MAX_FIELDS, sizeof(*f));
	size_t at = 0;
	int rc = 0;

	if (f == NULL)
		return pal_err_set(ps->err, PAL_ERR_NOMEM, "out of memory");
	ps->line = 0;
	while (rc == 0 && at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl != NULL ? (size_t)(nl - (text + at)) : len - at;
		ps->line++;
		rc = parse_line(ps, text + at, n, f);
		at += n + (nl != NULL);
	}
	free(f);
	if (rc == 0 && !ps->pol->has_quorum)
		rc = pal_err_set(ps->err, PAL_ERR_POLICY,
				 "witness policy has no quorum line");
	return rc;
}

int
pal_witness_policy_parse(const char *text, size_t len,
			 struct pal_witness_policy **out, struct pal_err *err)
{
	struct parse ps = { NULL, 0, err };
	int rc;

	*out = NULL;
	if (len > PAL_WITNESS_POLICY_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "witness policy of %zu bytes (at most %d)",
				   len, PAL_WITNESS_POLICY_MAX);
	if ((ps.pol = calloc(1, sizeof(*ps.pol))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	/* Node 0 is "none": a group of no members that always holds. */
	memcpy(ps.pol->nodes[0].name, "none", 5);
	ps.pol->nodes[0].witness = -1;
	ps.pol->n_nodes = 1;
	if ((rc = check_text(&ps, text, len)) == 0)
		rc = parse_text(&ps, text, len);
	if (rc < 0) {
		pal_witness_policy_free(ps.pol);
		return rc;
	}
	*out = ps.pol;
	return 0;
}

int
pal_witness_policy_load(const char *path, struct pal_witness_policy **out,
			struct pal_err *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = pal_file_read(path, PAL_WITNESS_POLICY_MAX, &data, &len,
				err)) < 0)
		return rc;
	rc = pal_witness_policy_parse((const char *)data, len, out, err);
	free(data);
	if (rc < 0)
		return pal_err_wrap(err, rc, "%s: ", path);
	return 0;
}

void
pal_witness_policy_free(struct pal_witness_policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n_logs; i++) {
		EVP_PKEY_free(p->logs[i].key);
		pal_note_verifier_free(p->logs[i].v);
	}
	for (size_t i = 0; i < p->n_witnesses; i++)
		pal_cosig_verifier_free(p->witnesses[i]);
	for (size_t i = 0; i < p->n_nodes; i++)
		free(p->nodes[i].members);
	free(p);
}

size_t
pal_witness_policy_count(const struct pal_witness_policy *p)
{
	return p->n_witnesses;
}

const struct pal_cosig_verifier *
pal_witness_policy_witness(const struct pal_witness_policy *p, size_t i)
{
	return i < p->n_witnesses ? p->witnesses[i] : NULL;
}

/* ---- checking a checkpoint ---- */

/* c must be what n's text says: formatted again, it is the text. */
static int
check_same(const struct pal_note *n, const struct pal_checkpoint *c,
	   struct pal_err *err)
{
	struct pal_buf b;
	int same;

	pal_buf_init(&b, PAL_NOTE_MAX_LEN);
	same = pal_checkpoint_format(c->origin, c->size, c->root,
				     (const char *const *)c->ext, c->n_ext,
				     &b, NULL) == 0 &&
		b.len == n->text_len && memcmp(b.p, n->text, b.len) == 0;
	pal_buf_free(&b);
	if (!same)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "witness policy: the checkpoint is not the "
				   "note's text");
	return 0;
}

/* One of the policy's logs must have signed the note. */
static int
check_log(const struct pal_witness_policy *p, const struct pal_note *n,
	  const struct pal_checkpoint *c, struct pal_err *err)
{
	struct pal_note_verifier *vs[PAL_WITNESS_POLICY_MAX_LOGS];
	struct pal_note_verifier *made[PAL_WITNESS_POLICY_MAX_LOGS];
	size_t nv = 0, nm = 0;
	int rc;

	for (size_t i = 0; i < p->n_logs; i++) {
		if (p->logs[i].v != NULL) {
			vs[nv++] = p->logs[i].v;
			continue;
		}
		/* An origin that is no key name cannot be signed under. */
		if (pal_note_verifier_from_key(c->origin, p->logs[i].key,
					       &made[nm], NULL) == 0)
			vs[nv++] = made[nm++];
	}
	rc = nv > 0 ? pal_note_verify(n, vs, nv, NULL, err) :
		pal_err_set(err, PAL_ERR_VERIFY,
			    "signed note: no signature by a known key");
	for (size_t i = 0; i < nm; i++)
		pal_note_verifier_free(made[i]);
	if (rc < 0)
		return pal_err_wrap(err, rc, "checkpoint of '%s': log "
				    "signature: ", c->origin);
	return 0;
}

static int
check_witnesses(const struct pal_witness_policy *p,
		const struct pal_note *n, struct pal_witness_result *res,
		struct pal_err *err)
{
	for (size_t i = 0; i < p->n_witnesses; i++) {
		int found = 0;
		int rc = pal_cosig_verify(n, p->witnesses[i], &found,
					  &res->timestamp[i], err);
		if (rc < 0)
			return rc;
		res->verified[i] = (uint8_t)found;
		res->n_verified += (size_t)found;
	}
	return 0;
}

/* Evaluates every name in order; members always come first. */
static int
quorum_holds(const struct pal_witness_policy *p,
	     const struct pal_witness_result *res)
{
	uint8_t sat[MAX_NODES];

	for (size_t i = 0; i < p->n_nodes; i++) {
		const struct wp_node *nd = &p->nodes[i];
		size_t yes = 0;
		if (nd->witness >= 0) {
			sat[i] = res->verified[nd->witness];
			continue;
		}
		for (size_t m = 0; m < nd->n; m++)
			yes += sat[nd->members[m]];
		sat[i] = yes >= nd->k;
	}
	return sat[p->quorum];
}

int
pal_witness_policy_check(const struct pal_witness_policy *p,
			 const struct pal_note *n,
			 const struct pal_checkpoint *c,
			 struct pal_witness_result *res,
			 struct pal_err *err)
{
	struct pal_witness_result local;
	int rc;

	if (res == NULL)
		res = &local;
	memset(res, 0, sizeof(*res));
	res->n_witnesses = p->n_witnesses;
	if ((rc = check_same(n, c, err)) < 0)
		return rc;
	if (p->n_logs > 0) {
		if ((rc = check_log(p, n, c, err)) < 0)
			return rc;
		res->log_checked = 1;
	}
	if ((rc = check_witnesses(p, n, res, err)) < 0)
		return pal_err_wrap(err, rc, "checkpoint of '%s': ",
				    c->origin);
	res->satisfied = quorum_holds(p, res);
	if (!res->satisfied)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "checkpoint of '%s': witness quorum '%s' "
				   "not met (%zu of %zu witnesses cosigned)",
				   c->origin, p->nodes[p->quorum].name,
				   res->n_verified, p->n_witnesses);
	return 0;
}
