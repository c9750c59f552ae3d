/*
 * report.c - the scan report as text, JSON and SARIF 2.1.0.
 *
 * Every string that came from a scanned file (member names, global names)
 * is escaped before it is printed: see pal_text_escape.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "palisade/buf.h"
#include "palisade/text.h"
#include "scan_int.h"

#define TEXT_MAX ((size_t)1 << 20)

static const char *const status_names[] = {
	[PAL_ITEM_CLEAN] = "clean",
	[PAL_ITEM_FINDINGS] = "findings",
	[PAL_ITEM_ERROR] = "error",
	[PAL_ITEM_SKIPPED] = "skipped",
};

/* Escapes s into b (reset first) and returns the C string, or NULL. */
static const char *
esc(struct pal_buf *b, const char *s)
{
	pal_buf_reset(b);
	if (s == NULL)
		s = "";
	if (pal_text_escape(b, s, strlen(s)) != 0)
		return NULL;
	return b->p != NULL ? (const char *)b->p : "";
}

static int
put_finding_text(FILE *fp, const struct pal_finding *f)
{
	struct pal_buf n, l, m;
	const char *name, *loc, *reason;
	int r = 0;

	pal_buf_init(&n, TEXT_MAX);
	pal_buf_init(&l, TEXT_MAX);
	pal_buf_init(&m, TEXT_MAX);
	name = esc(&n, f->name);
	loc = esc(&l, f->location);
	reason = esc(&m, f->reason);
	if (name == NULL || loc == NULL || reason == NULL)
		r = PAL_ERR_NOMEM;
	else if (fprintf(fp, "%s: %s%s%s [%s] %s\n", name, loc,
	    loc[0] ? ": " : "", f->rule, pal_severity_name(f->severity),
	    reason) < 0)
		r = PAL_ERR_IO;
	pal_buf_free(&n);
	pal_buf_free(&l);
	pal_buf_free(&m);
	return r;
}

static int
put_result_text(FILE *fp, const struct pal_scan_result *res)
{
	struct pal_buf n, d;
	const char *name, *detail;
	int r = 0;

	if (res->status != PAL_ITEM_ERROR && res->status != PAL_ITEM_SKIPPED &&
	    res->dropped == 0)
		return 0;
	pal_buf_init(&n, TEXT_MAX);
	pal_buf_init(&d, TEXT_MAX);
	name = esc(&n, res->name);
	detail = esc(&d, res->detail);
	if (name == NULL || detail == NULL)
		r = PAL_ERR_NOMEM;
	else if (res->dropped > 0 && fprintf(fp,
	    "%s: %zu more findings not listed\n", name, res->dropped) < 0)
		r = PAL_ERR_IO;
	else if (res->status == PAL_ITEM_ERROR &&
	    fprintf(fp, "%s: error: %s\n", name, detail) < 0)
		r = PAL_ERR_IO;
	else if (res->status == PAL_ITEM_SKIPPED &&
	    fprintf(fp, "%s: skipped: %s\n", name, detail) < 0)
		r = PAL_ERR_IO;
	pal_buf_free(&n);
	pal_buf_free(&d);
	return r;
}

int
pal_scan_write_text(const struct pal_scan *s, FILE *fp)
{
	size_t i, count[4] = { 0, 0, 0, 0 };
	int r;

	for (i = 0; i < s->nfindings; i++)
		if ((r = put_finding_text(fp, &s->findings[i])) != 0)
			return r;
	for (i = 0; i < s->nresults; i++) {
		if ((r = put_result_text(fp, &s->results[i])) != 0)
			return r;
		count[s->results[i].status]++;
	}
	if (fprintf(fp, "scanned %zu items: %zu clean, %zu with findings, "
	    "%zu errors, %zu skipped; %zu findings\n", s->nresults,
	    count[PAL_ITEM_CLEAN], count[PAL_ITEM_FINDINGS],
	    count[PAL_ITEM_ERROR], count[PAL_ITEM_SKIPPED], s->nfindings) < 0)
		return PAL_ERR_IO;
	return 0;
}

/* A JSON string of untrusted text, escaped to valid UTF-8. */
static json_t *
jstr(const char *s)
{
	struct pal_buf b;
	const char *e;
	json_t *j;

	pal_buf_init(&b, TEXT_MAX);
	e = esc(&b, s);
	j = e != NULL ? json_string(e) : NULL;
	pal_buf_free(&b);
	return j;
}

/* Sets key to value, taking the reference; fails on a NULL value. */
static int
set(json_t *obj, const char *key, json_t *value)
{
	if (value == NULL)
		return PAL_ERR_NOMEM;
	return json_object_set_new(obj, key, value) == 0 ? 0 : PAL_ERR_NOMEM;
}

static int
append(json_t *arr, json_t *value)
{
	if (value == NULL)
		return PAL_ERR_NOMEM;
	return json_array_append_new(arr, value) == 0 ? 0 : PAL_ERR_NOMEM;
}

static json_t *
finding_json(const struct pal_finding *f)
{
	json_t *o = json_object();

	if (o == NULL || set(o, "file", jstr(f->name)) ||
	    set(o, "location", jstr(f->location)) ||
	    set(o, "rule", json_string(f->rule)) ||
	    set(o, "severity", json_string(pal_severity_name(f->severity))) ||
	    set(o, "reason", jstr(f->reason))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
result_json(const struct pal_scan_result *res)
{
	json_t *o = json_object();

	if (o == NULL || set(o, "file", jstr(res->name)) ||
	    set(o, "format", json_string(res->format)) ||
	    set(o, "status", json_string(status_names[res->status])) ||
	    set(o, "depth", json_integer(res->depth)) ||
	    set(o, "findings", json_integer((json_int_t)res->nfindings)) ||
	    (res->dropped && set(o, "findings_not_listed",
	    json_integer((json_int_t)res->dropped))) ||
	    (res->detail && set(o, "detail", jstr(res->detail)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
dump(json_t *root, FILE *fp)
{
	int r = json_dumpf(root, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (r == 0 && fputc('\n', fp) == EOF)
		r = -1;
	return r == 0 ? 0 : PAL_ERR_IO;
}

int
pal_scan_write_json(const struct pal_scan *s, FILE *fp)
{
	json_t *root = json_object(), *files = json_array(),
	    *findings = json_array();
	size_t i;
	int r = 0;

	if (root == NULL || files == NULL || findings == NULL) {
		r = PAL_ERR_NOMEM;
		goto out;
	}
	for (i = 0; r == 0 && i < s->nresults; i++)
		r = append(files, result_json(&s->results[i]));
	for (i = 0; r == 0 && i < s->nfindings; i++)
		r = append(findings, finding_json(&s->findings[i]));
	if (r == 0)
		r = set(root, "exit_code", json_integer(pal_scan_exit_code(s)));
	if (r == 0) {
		r = set(root, "files", files);
		files = NULL;
	}
	if (r == 0) {
		r = set(root, "findings", findings);
		findings = NULL;
	}
	if (r == 0)
		r = dump(root, fp);
out:
	json_decref(files);
	json_decref(findings);
	json_decref(root);
	return r;
}

static const char *
sarif_level(enum pal_severity sev)
{
	switch (sev) {
	case PAL_SEV_CRITICAL:
	case PAL_SEV_HIGH:	return "error";
	case PAL_SEV_MEDIUM:	return "warning";
	default:		return "note";
	}
}

static json_t *
sarif_rules(void)
{
	json_t *rules = json_array();
	size_t i, n = pal_scan_nrules();

	for (i = 0; rules != NULL && i < n; i++) {
		const struct pal_rule *ru = pal_scan_rule_at(i);
		json_t *o = json_pack("{s:s, s:{s:s}, s:{s:s}, s:{s:s}}",
		    "id", ru->id, "shortDescription", "text", ru->summary,
		    "defaultConfiguration", "level", sarif_level(ru->severity),
		    "properties", "security-severity",
		    ru->severity == PAL_SEV_CRITICAL ? "9.5" :
		    ru->severity == PAL_SEV_HIGH ? "8.0" :
		    ru->severity == PAL_SEV_MEDIUM ? "5.0" : "2.0");

		if (append(rules, o) != 0) {
			json_decref(rules);
			return NULL;
		}
	}
	return rules;
}

/*
 * A SARIF location: the artifact is the file on disk (what precedes the
 * first '!'); the nested member and the position inside go into the
 * logical location and the message.
 */
static json_t *
sarif_result(const struct pal_finding *f)
{
	struct pal_buf b;
	const char *bang = strchr(f->name, '!');
	char *uri;
	json_t *o;

	uri = bang ? strndup(f->name, (size_t)(bang - f->name)) :
	    strdup(f->name);
	if (uri == NULL)
		return NULL;
	pal_buf_init(&b, TEXT_MAX);
	if (pal_text_escape(&b, f->reason, strlen(f->reason)) != 0 ||
	    pal_buf_puts(&b, " (at ") ||
	    pal_text_escape(&b, f->location[0] ? f->location : "start",
	    strlen(f->location[0] ? f->location : "start")) != 0 ||
	    (bang && pal_buf_puts(&b, " in ")) ||
	    (bang && pal_text_escape(&b, bang + 1, strlen(bang + 1)) != 0) ||
	    pal_buf_puts(&b, ")")) {
		pal_buf_free(&b);
		free(uri);
		return NULL;
	}
	o = json_pack("{s:s, s:s, s:{s:s}, s:[{s:{s:{s:o}}, s:[{s:o, s:s}]}]}",
	    "ruleId", f->rule, "level", sarif_level(f->severity),
	    "message", "text", (const char *)b.p,
	    "locations", "physicalLocation", "artifactLocation", "uri",
	    jstr(uri), "logicalLocations", "fullyQualifiedName", jstr(f->name),
	    "kind", "member");
	pal_buf_free(&b);
	free(uri);
	return o;
}

int
pal_scan_write_sarif(const struct pal_scan *s, FILE *fp)
{
	json_t *root, *results = json_array(), *rules = sarif_rules();
	size_t i;
	int r = 0;

	if (results == NULL || rules == NULL) {
		json_decref(results);
		json_decref(rules);
		return PAL_ERR_NOMEM;
	}
	for (i = 0; r == 0 && i < s->nfindings; i++)
		r = append(results, sarif_result(&s->findings[i]));
	if (r != 0) {
		json_decref(results);
		json_decref(rules);
		return r;
	}
	root = json_pack("{s:s, s:s, s:[{s:{s:{s:s, s:s, s:o}}, s:o}]}",
	    "$schema", "https://json.schemastore.org/sarif-2.1.0.json",
	    "version", "2.1.0", "runs", "tool", "driver", "name", "palisade",
	    "version", "0.1.0", "rules", rules, "results", results);
	if (root == NULL)
		return PAL_ERR_NOMEM;
	r = dump(root, fp);
	json_decref(root);
	return r;
}
