/*
 * inject.c - prompt-injection rules (inject.h): loading a rules file,
 * compiling its patterns into one Vectorscan database, and the rules'
 * accessors.  Scanning is in inject_scan.c, the file format in
 * inject_rules.c.
 *
 * Every pattern gets HS_FLAG_UTF8 (the text is UTF-8 and classes such as
 * [\x{E0000}-\x{E007F}] name code points) and HS_FLAG_SINGLEMATCH (a rule
 * scores once, so Vectorscan may stop tracking it after its first
 * match).  HS_FLAG_UCP is not used: Vectorscan refuses \b under it, and
 * the injection phrases need word boundaries more than Unicode classes;
 * Unicode spaces are folded to ASCII before the second scan instead
 * (inject_fold.c).  A pattern that can match the empty string is refused
 * by Vectorscan, so that no rule can match every request by accident.
 */
#include <stdlib.h>
#include <string.h>

#include "palisade/file.h"
#include "inject_int.h"

static unsigned
hs_flags(unsigned flags)
{
	unsigned f = HS_FLAG_UTF8 | HS_FLAG_SINGLEMATCH;

	if (flags & PAL_INJECT_CASELESS)
		f |= HS_FLAG_CASELESS;
	if (flags & PAL_INJECT_DOTALL)
		f |= HS_FLAG_DOTALL;
	if (flags & PAL_INJECT_MULTILINE)
		f |= HS_FLAG_MULTILINE;
	return f;
}

/* Vectorscan's refusal, named by the rule and its pattern's position. */
static int
compile_error(const struct pal_inject_rules *r, const hs_compile_error_t *ce,
	      struct pal_err *err)
{
	const struct inject_entry *e;

	if (ce->expression < 0 || (size_t)ce->expression >= r->n)
		return pal_err_set(err, PAL_ERR_POLICY, "%s: the rules could "
				   "not be compiled: %s", r->name,
				   ce->message);
	e = &r->rules[ce->expression];
	return pal_err_set(err, PAL_ERR_POLICY, "%s:%zu:%zu: rule '%s': "
			   "pattern refused by Vectorscan: %s", r->name,
			   e->pub.pattern_line, e->pattern_column, e->id,
			   ce->message);
}

int
inject_rules_compile(struct pal_inject_rules *r, struct pal_err *err)
{
	const char **exprs = calloc(r->n, sizeof(*exprs));
	unsigned *flags = calloc(r->n, sizeof(*flags));
	unsigned *ids = calloc(r->n, sizeof(*ids));
	hs_compile_error_t *ce = NULL;
	int rc = 0;

	if (exprs == NULL || flags == NULL || ids == NULL) {
		rc = pal_err_set(err, PAL_ERR_NOMEM, "%s: out of memory",
				 r->name);
		goto out;
	}
	for (size_t i = 0; i < r->n; i++) {
		exprs[i] = r->rules[i].pattern;
		flags[i] = hs_flags(r->rules[i].pub.flags);
		ids[i] = (unsigned)i;
	}
	if (hs_compile_multi(exprs, flags, ids, (unsigned)r->n, HS_MODE_BLOCK,
			     NULL, &r->db, &ce) != HS_SUCCESS) {
		r->db = NULL;
		rc = compile_error(r, ce, err);
	}
out:
	if (ce != NULL)
		hs_free_compile_error(ce);
	free(exprs);
	free(flags);
	free(ids);
	return rc;
}

/* Serial numbers of rules, from 1; 0 is "fits nothing" in a scratch. */
static uint64_t next_serial;

int
pal_inject_rules_parse(const void *yaml, size_t len, const char *name,
		       struct pal_inject_rules **out, struct pal_err *err)
{
	struct pal_inject_rules *r;
	int rc;

	*out = NULL;
	if (name == NULL)
		name = "rules";
	if (len > PAL_INJECT_FILE_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT, "%s: %zu bytes, more "
				   "than the %d a rules file may have", name,
				   len, PAL_INJECT_FILE_MAX);
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->name = strdup(name)) == NULL) {
		free(r);
		return pal_err_set(err, PAL_ERR_NOMEM, "%s: out of memory",
				   name);
	}
	if ((rc = inject_rules_read(r, yaml, len, err)) != 0 ||
	    (rc = inject_rules_compile(r, err)) != 0) {
		pal_inject_rules_free(r);
		return rc;
	}
	r->serial = __atomic_add_fetch(&next_serial, 1, __ATOMIC_RELAXED);
	*out = r;
	return 0;
}

int
pal_inject_rules_load(const char *path, struct pal_inject_rules **out,
		      struct pal_err *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = pal_file_read(path, PAL_INJECT_FILE_MAX, &data, &len,
				err)) != 0)
		return rc;
	rc = pal_inject_rules_parse(data, len, path, out, err);
	free(data);
	return rc;
}

int
pal_inject_rules_default(struct pal_inject_rules **out, struct pal_err *err)
{
	return pal_inject_rules_parse(pal_inject_default_yaml,
				      pal_inject_default_yaml_len,
				      "injection-rules.yaml (built in)", out,
				      err);
}

void
pal_inject_rules_free(struct pal_inject_rules *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->rules[i].id);
		free(r->rules[i].pattern);
		free(r->rules[i].description);
	}
	free(r->rules);
	hs_free_database(r->db);
	free(r->name);
	free(r);
}

const char *
pal_inject_rules_name(const struct pal_inject_rules *r)
{
	return r->name;
}

size_t
pal_inject_rules_count(const struct pal_inject_rules *r)
{
	return r->n;
}

const struct pal_inject_rule *
pal_inject_rules_get(const struct pal_inject_rules *r, size_t i)
{
	return i < r->n ? &r->rules[i].pub : NULL;
}

const struct pal_inject_rule *
pal_inject_rules_find(const struct pal_inject_rules *r, const char *id)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->rules[i].id, id) == 0)
			return &r->rules[i].pub;
	return NULL;
}

int
pal_inject_role_parse(const char *s, size_t n)
{
	static const struct {
		const char *name;
		enum pal_inject_role role;
	} names[] = {
		{ "system", PAL_INJECT_SYSTEM },
		{ "developer", PAL_INJECT_SYSTEM },
		{ "user", PAL_INJECT_USER },
		{ "assistant", PAL_INJECT_ASSISTANT },
		{ "tool", PAL_INJECT_TOOL },
		{ "function", PAL_INJECT_TOOL },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n &&
		    memcmp(names[i].name, s, n) == 0)
			return (int)names[i].role;
	return -1;
}
