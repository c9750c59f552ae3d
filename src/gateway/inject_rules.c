/*
 * inject_rules.c - reads a prompt-injection rules file (docs/injection.md)
 * with the shared strict YAML reader (yaml_strict.h):
 *
 *	version: 1
 *	rules:
 *	  - id: override.ignore-previous
 *	    pattern: '\bignore\s+previous\s+instructions\b'
 *	    flags: [caseless]
 *	    score: 100
 *	    applies_to: [user, tool]
 *	    description: the classic override
 *
 * The file decides what the gateway refuses, so it is read as strictly as
 * the configuration: only these keys, each once, strings that are
 * strings, whole-number scores, known flag and role names without
 * repeats, unique ids.  The patterns themselves are judged by Vectorscan
 * when they are compiled (inject.c), and a refusal names the rule and the
 * pattern's line.  Before that, counted repeats above
 * PAL_INJECT_REPEAT_MAX are refused here: in UTF-8 mode Vectorscan's
 * compile time grows steeply with them (".{0,300}" took over a minute),
 * and the gateway compiles at start and at every reload.
 */
#include <stdlib.h>
#include <string.h>

#include "palisade/text.h"
#include "palisade/yaml_strict.h"
#include "inject_int.h"

static const char *const flag_names[] = { "caseless", "dotall", "multiline" };
static const unsigned flag_bits[] = {
	PAL_INJECT_CASELESS, PAL_INJECT_DOTALL, PAL_INJECT_MULTILINE,
};
/* In the order of enum pal_inject_role. */
static const char *const role_names[] = {
	"system", "user", "assistant", "tool",
};

/* The entry being read, and which optional lists it had. */
struct rule_ctx {
	struct inject_entry *e;
	int has_flags, has_roles;
};

static int
id_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

static int
parse_id(struct pal_yaml *y, void *obj)
{
	struct pal_inject_rules *r = y->ctx;
	struct rule_ctx *c = obj;
	char *id;
	int rc;

	if ((rc = pal_yaml_string(y, NULL, PAL_INJECT_ID_MAX, &id)) != 0)
		return rc;
	c->e->id = id;
	for (size_t i = 0; id[i] != '\0'; i++)
		if (!id_char_ok((unsigned char)id[i]))
			return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' "
						  "may hold only a-z, 0-9, "
						  "'.', '_' and '-'",
						  pal_yaml_shown(y));
	for (size_t i = 0; i + 1 < r->n; i++)
		if (strcmp(r->rules[i].id, id) == 0)
			return pal_yaml_fail_path(y, &y->ev.start_mark, "rule "
						  "id '%s' is also the id of "
						  "the rule at line %zu", id,
						  r->rules[i].pub.line);
	return 0;
}

/* Index past the {...} that starts at p[i], or i when there is none. */
static size_t
skip_braces(const char *p, size_t i)
{
	const char *end;

	if (p[i] != '{' || (end = strchr(p + i, '}')) == NULL)
		return i;
	return (size_t)(end - p) + 1;
}

/*
 * Index past the escape at p[i] ('\'): \x{...} and \p{...} whole, and
 * "\\" without what follows it.
 */
static size_t
skip_escape(const char *p, size_t i)
{
	unsigned char c = (unsigned char)p[i + 1];

	if (c == '\0')
		return i + 1;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return skip_braces(p, i + 2);
	return i + 2;
}

/* Index past the character class that starts at p[i] ('['). */
static size_t
skip_class(const char *p, size_t i)
{
	const char *posix;

	i++;
	if (p[i] == '^')
		i++;
	if (p[i] == ']')
		i++;
	while (p[i] != '\0' && p[i] != ']') {
		if (p[i] == '\\')
			i = skip_escape(p, i);
		else if (p[i] == '[' && p[i + 1] == ':' &&
			 (posix = strstr(p + i + 2, ":]")) != NULL)
			i = (size_t)(posix - p) + 2;
		else
			i++;
	}
	return p[i] == ']' ? i + 1 : i;
}

/* Decimal digits at p[*j] (capped, so that they cannot overflow). */
static unsigned long
count_at(const char *p, size_t *j)
{
	unsigned long v = 0;

	for (; p[*j] >= '0' && p[*j] <= '9'; (*j)++)
		if (v < 1000000)
			v = v * 10 + (unsigned long)(p[*j] - '0');
	return v;
}

/*
 * The largest count of the repeat whose '{' is p[i] ({n}, {n,}, {n,m}),
 * or 0 when the braces are not a repeat (then they are literal).
 */
static unsigned long
repeat_at(const char *p, size_t i)
{
	size_t j = i + 1;
	unsigned long lo = count_at(p, &j), hi = lo;

	if (j == i + 1)
		return 0;
	if (p[j] == ',') {
		j++;
		hi = count_at(p, &j);
	}
	if (p[j] != '}')
		return 0;
	return lo > hi ? lo : hi;
}

/*
 * The largest count of a repeat in p, and where it starts; braces in
 * escapes (\x{E0000}) and classes ([{]) are not repeats.
 */
static unsigned long
largest_repeat(const char *p, size_t *at)
{
	unsigned long worst = 0, v;
	size_t i = 0;

	*at = 0;
	while (p[i] != '\0') {
		if (p[i] == '\\') {
			i = skip_escape(p, i);
		} else if (p[i] == '[') {
			i = skip_class(p, i);
		} else {
			if (p[i] == '{' && (v = repeat_at(p, i)) > worst) {
				worst = v;
				*at = i;
			}
			i++;
		}
	}
	return worst;
}

static int
parse_pattern(struct pal_yaml *y, void *obj)
{
	struct rule_ctx *c = obj;
	unsigned long worst;
	size_t at;
	char *p;
	int rc;

	if ((rc = pal_yaml_string(y, NULL, PAL_INJECT_PATTERN_MAX, &p)) != 0)
		return rc;
	c->e->pattern = p;
	c->e->pub.pattern_line = y->ev.start_mark.line + 1;
	c->e->pattern_column = y->ev.start_mark.column + 1;
	if (!pal_utf8_valid(p, strlen(p)))
		return pal_yaml_fail_path(y, &y->ev.start_mark,
					  "not valid UTF-8");
	if ((worst = largest_repeat(p, &at)) > PAL_INJECT_REPEAT_MAX)
		return pal_yaml_fail_path(y, &y->ev.start_mark, "the repeat "
					  "at offset %zu counts to %lu, more "
					  "than %d (Vectorscan's compile time "
					  "grows steeply with counted "
					  "repeats; join phrases with [^\\n]* "
					  "instead)", at, worst,
					  PAL_INJECT_REPEAT_MAX);
	return 0;
}

static int
parse_description(struct pal_yaml *y, void *obj)
{
	struct rule_ctx *c = obj;

	return pal_yaml_string(y, NULL, PAL_INJECT_DESC_MAX,
			       &c->e->description);
}

static int
parse_score(struct pal_yaml *y, void *obj)
{
	struct rule_ctx *c = obj;
	uint64_t v;
	int rc;

	if ((rc = pal_yaml_uint(y, NULL, 0, PAL_INJECT_SCORE_MAX, &v)) != 0)
		return rc;
	c->e->pub.score = (uint32_t)v;
	return 0;
}

/* One name of names[] into *bits, refusing a repeat. */
static int
name_bit(struct pal_yaml *y, const char *const *names, size_t n,
	 const unsigned *bit_of, unsigned *bits)
{
	unsigned bit;
	int i, rc;

	if ((rc = pal_yaml_enum(y, NULL, names, n, &i)) != 0)
		return rc;
	bit = bit_of != NULL ? bit_of[i] : 1u << i;
	if (*bits & bit)
		return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' is "
					  "listed twice", names[i]);
	*bits |= bit;
	return 0;
}

static int
flag_item(struct pal_yaml *y, void *obj)
{
	struct rule_ctx *c = obj;

	return name_bit(y, flag_names, PAL_YAML_NFIELDS(flag_names),
			flag_bits, &c->e->pub.flags);
}

static int
parse_flags(struct pal_yaml *y, void *obj)
{
	struct rule_ctx *c = obj;
	size_t n;

	c->has_flags = 1;
	return pal_yaml_list(y, NULL, PAL_YAML_NFIELDS(flag_names), flag_item,
			     obj, &n);
}

static int
role_item(struct pal_yaml *y, void *obj)
{
	struct rule_ctx *c = obj;
	unsigned bits = c->e->pub.roles;
	int rc;

	rc = name_bit(y, role_names, PAL_YAML_NFIELDS(role_names), NULL,
		      &bits);
	c->e->pub.roles = bits;
	return rc;
}

static int
parse_roles(struct pal_yaml *y, void *obj)
{
	struct rule_ctx *c = obj;
	yaml_mark_t at = y->ev.start_mark;
	size_t n;
	int rc;

	c->has_roles = 1;
	rc = pal_yaml_list(y, NULL, PAL_INJECT_ROLES, role_item, obj, &n);
	if (rc == 0 && n == 0)
		rc = pal_yaml_fail_path(y, &at, "is empty (a rule must apply "
					"to at least one role)");
	return rc;
}

static int
rule_item(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "id", parse_id, "rule has no 'id'" },
		{ "pattern", parse_pattern, "rule has no 'pattern'" },
		{ "flags", parse_flags, NULL },
		{ "score", parse_score, "rule has no 'score'" },
		{ "applies_to", parse_roles, NULL },
		{ "description", parse_description, NULL },
	};
	struct pal_inject_rules *r = obj;
	struct rule_ctx c = { 0 };
	void *v = r->rules;
	int rc;

	if ((rc = pal_yaml_grow(y, &v, r->n, sizeof(*r->rules))) != 0)
		return rc;
	r->rules = v;
	c.e = &r->rules[r->n++];
	c.e->pub.line = y->ev.start_mark.line + 1;
	if ((rc = pal_yaml_mapping(y, fields, PAL_YAML_NFIELDS(fields), NULL,
				   &c)) != 0)
		return rc;
	if (!c.has_flags)
		c.e->pub.flags = PAL_INJECT_FLAGS_DEFAULT;
	if (!c.has_roles)
		c.e->pub.roles = PAL_INJECT_ROLES_DEFAULT;
	r->roles |= c.e->pub.roles;
	return 0;
}

static int
parse_rules(struct pal_yaml *y, void *obj)
{
	yaml_mark_t at = y->ev.start_mark;
	size_t n;
	int rc;

	rc = pal_yaml_list(y, NULL, PAL_INJECT_MAX_RULES, rule_item, obj, &n);
	if (rc == 0 && n == 0)
		rc = pal_yaml_fail_path(y, &at, "is empty (to scan nothing, "
					"leave the rules file out)");
	return rc;
}

static int
parse_version(struct pal_yaml *y, void *obj)
{
	(void)obj;
	return pal_yaml_version(y, 1);
}

/* The public view of each entry points at its owned strings. */
static void
publish(struct pal_inject_rules *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct inject_entry *e = &r->rules[i];

		e->pub.id = e->id;
		e->pub.pattern = e->pattern;
		e->pub.description = e->description != NULL ?
				     e->description : "";
	}
}

int
inject_rules_read(struct pal_inject_rules *r, const uint8_t *yaml,
		  size_t len, struct pal_err *err)
{
	static const struct pal_yaml_field top[] = {
		{ "version", parse_version, "the rules file has no 'version'" },
		{ "rules", parse_rules, "the rules file has no 'rules'" },
	};
	struct pal_yaml y;
	int rc;

	if ((rc = pal_yaml_begin(&y, yaml, len, r->name, r, err)) == 0)
		rc = pal_yaml_document(&y, top, PAL_YAML_NFIELDS(top),
				       "the rules file", "empty rules file", 1,
				       r);
	pal_yaml_end(&y);
	if (rc == 0)
		publish(r);
	return rc;
}
