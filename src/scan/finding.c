/*
 * finding.c - the session's results and findings, and the rule table.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan_int.h"

/* The driver's own rules: what is found about files rather than formats. */
const struct pal_rule pal_rules_scan[] = {
	{ "scan.limit", PAL_SEV_MEDIUM,
	  "A hard scanning limit (size, depth, count or expansion ratio) "
	  "was reached; hostile files are built to do this." },
	{ NULL, 0, NULL },
};

static const struct pal_rule *const rule_tables[] = {
	pal_rules_scan, pal_rules_pickle, pal_rules_zip, pal_rules_archive,
	pal_rules_npy, pal_rules_safetensors, pal_rules_gguf, pal_rules_onnx,
	pal_rules_savedmodel, pal_rules_hdf5, pal_rules_json, pal_rules_keras,
};

#define NTABLES (sizeof(rule_tables) / sizeof(rule_tables[0]))

const struct pal_rule *
pal_scan_rule(const char *id)
{
	size_t t;
	const struct pal_rule *r;

	for (t = 0; t < NTABLES; t++)
		for (r = rule_tables[t]; r->id != NULL; r++)
			if (strcmp(r->id, id) == 0)
				return r;
	return NULL;
}

size_t
pal_scan_nrules(void)
{
	size_t t, n = 0;
	const struct pal_rule *r;

	for (t = 0; t < NTABLES; t++)
		for (r = rule_tables[t]; r->id != NULL; r++)
			n++;
	return n;
}

const struct pal_rule *
pal_scan_rule_at(size_t i)
{
	size_t t;
	const struct pal_rule *r;

	for (t = 0; t < NTABLES; t++)
		for (r = rule_tables[t]; r->id != NULL; r++)
			if (i-- == 0)
				return r;
	return NULL;
}

const char *
pal_severity_name(enum pal_severity sev)
{
	switch (sev) {
	case PAL_SEV_INFO:	return "info";
	case PAL_SEV_LOW:	return "low";
	case PAL_SEV_MEDIUM:	return "medium";
	case PAL_SEV_HIGH:	return "high";
	case PAL_SEV_CRITICAL:	return "critical";
	}
	return "unknown";
}

/* Grows an array of elem-sized items to hold one more. */
static int
grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / elem)
		return PAL_ERR_NOMEM;
	if ((p = realloc(*arr, ncap * elem)) == NULL)
		return PAL_ERR_NOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

int
pal_scan_result_new(struct pal_scan *s, const char *name, unsigned depth,
    size_t *index)
{
	struct pal_scan_result *res;
	int r;

	if ((r = grow((void **)&s->results, &s->cap_results, s->nresults,
	    sizeof(*s->results))) != 0)
		return r;
	res = &s->results[s->nresults];
	memset(res, 0, sizeof(*res));
	if ((res->name = strdup(name)) == NULL)
		return PAL_ERR_NOMEM;
	res->format = "unknown";
	res->depth = depth;
	*index = s->nresults++;
	return 0;
}

static char *vformat(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));

static char *
vformat(const char *fmt, va_list ap)
{
	va_list ap2;
	char *p;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || (p = malloc((size_t)n + 1)) == NULL)
		return NULL;
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

static int vfind(struct pal_scan *s, const struct pal_scan_item *it,
    const char *rule, const char *loc, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

static int
vfind(struct pal_scan *s, const struct pal_scan_item *it, const char *rule,
    const char *loc, const char *fmt, va_list ap)
{
	struct pal_scan_result *res = &s->results[it->result];
	const struct pal_rule *def = pal_scan_rule(rule);
	struct pal_finding *f;
	int r;

	if (def == NULL) {
		fprintf(stderr, "palisade: internal error: unknown rule %s\n",
		    rule);
		abort();
	}
	/* Informational notes are listed but do not fail an item. */
	if (def->severity > PAL_SEV_INFO)
		res->status = PAL_ITEM_FINDINGS;
	if (res->nfindings >= s->opts.limits.max_findings) {
		res->dropped++;
		return 0;
	}
	if ((r = grow((void **)&s->findings, &s->cap_findings, s->nfindings,
	    sizeof(*s->findings))) != 0)
		return r;
	f = &s->findings[s->nfindings];
	memset(f, 0, sizeof(*f));
	f->rule = def->id;
	f->severity = def->severity;
	f->name = strdup(it->name);
	f->location = strdup(loc != NULL ? loc : "");
	f->reason = vformat(fmt, ap);
	if (f->name == NULL || f->location == NULL || f->reason == NULL) {
		free(f->name);
		free(f->location);
		free(f->reason);
		return PAL_ERR_NOMEM;
	}
	s->nfindings++;
	res->nfindings++;
	return 0;
}

int
pal_scan_find(struct pal_scan *s, const struct pal_scan_item *it,
    const char *rule, const char *loc, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfind(s, it, rule, loc, fmt, ap);
	va_end(ap);
	return r;
}

int
pal_scan_find_at(struct pal_scan *s, const struct pal_scan_item *it,
    const char *rule, uint64_t offset, const char *fmt, ...)
{
	char loc[48];
	va_list ap;
	int r;

	snprintf(loc, sizeof(loc), "offset %llu", (unsigned long long)offset);
	va_start(ap, fmt);
	r = vfind(s, it, rule, loc, fmt, ap);
	va_end(ap);
	return r;
}

void
pal_scan_retract(struct pal_scan *s, const struct pal_scan_item *it,
    size_t mark)
{
	struct pal_scan_result *res = &s->results[it->result];

	while (s->nfindings > mark) {
		struct pal_finding *f = &s->findings[--s->nfindings];

		free(f->name);
		free(f->location);
		free(f->reason);
	}
	res->nfindings = 0;
	res->dropped = 0;
	if (res->status == PAL_ITEM_FINDINGS)
		res->status = PAL_ITEM_CLEAN;
}

size_t
pal_scan_nresults(const struct pal_scan *s)
{
	return s->nresults;
}

const struct pal_scan_result *
pal_scan_result(const struct pal_scan *s, size_t i)
{
	return i < s->nresults ? &s->results[i] : NULL;
}

size_t
pal_scan_nfindings(const struct pal_scan *s)
{
	return s->nfindings;
}

const struct pal_finding *
pal_scan_finding(const struct pal_scan *s, size_t i)
{
	return i < s->nfindings ? &s->findings[i] : NULL;
}

int
pal_scan_exit_code(const struct pal_scan *s)
{
	size_t i;
	int err = s->failed;

	for (i = 0; i < s->nfindings; i++)
		if (s->findings[i].severity > PAL_SEV_INFO)
			return 1;
	for (i = 0; i < s->nresults; i++) {
		if (s->results[i].status == PAL_ITEM_FINDINGS)
			return 1;
		if (s->results[i].status == PAL_ITEM_ERROR)
			err = 1;
		if (s->results[i].status == PAL_ITEM_SKIPPED &&
		    (s->opts.flags & PAL_SCAN_STRICT))
			err = 1;
	}
	return err ? 2 : 0;
}

void
pal_scan_results_free(struct pal_scan *s)
{
	size_t i;

	for (i = 0; i < s->nresults; i++) {
		free(s->results[i].name);
		free(s->results[i].detail);
	}
	for (i = 0; i < s->nfindings; i++) {
		free(s->findings[i].name);
		free(s->findings[i].location);
		free(s->findings[i].reason);
	}
	free(s->results);
	free(s->findings);
	s->results = NULL;
	s->findings = NULL;
	s->nresults = s->nfindings = 0;
	s->cap_results = s->cap_findings = 0;
}
