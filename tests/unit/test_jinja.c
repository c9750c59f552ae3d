/*
 * test_jinja.c - the chat-template analyser: the published templates of
 * popular models (tests/data/hf/templates) come out clean; every sandbox
 * escape in tests/data/hf/evil, plain or hidden behind escapes,
 * concatenation, filters, variables, macros or an object's printed form,
 * yields its rule; syntax errors and limits end in errors with a
 * position.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "scan_int.h"

struct fixture {
	struct pal_policy *policy;
	struct pal_scan *scan;
	struct pal_scan_item item;
	int ret;		/* what pal_jinja_check returned */
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(pal_policy_new_default(&f->policy, NULL), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	pal_scan_free(f->scan);
	pal_policy_free(f->policy);
	free(f);
	return 0;
}

/* Checks tmpl[0..len) in a fresh session; the result is in f. */
static struct pal_scan *
check_n(struct fixture *f, const char *tmpl, size_t len)
{
	struct pal_scan_opts opts;

	pal_scan_free(f->scan);
	f->scan = NULL;
	memset(&opts, 0, sizeof(opts));
	pal_scan_limits_default(&opts.limits);
	opts.policy = f->policy;
	assert_int_equal(pal_scan_new(&opts, &f->scan, NULL), 0);
	memset(&f->item, 0, sizeof(f->item));
	f->item.data = (const uint8_t *)tmpl;
	f->item.len = len;
	f->item.name = "tokenizer_config.json";
	f->item.format = PAL_FMT_JSON;
	assert_int_equal(pal_scan_result_new(f->scan, f->item.name, 0,
	    &f->item.result), 0);
	f->ret = pal_jinja_check(f->scan, &f->item, "chat_template", tmpl,
	    len);
	return f->scan;
}

static struct pal_scan *
check(struct fixture *f, const char *tmpl)
{
	return check_n(f, tmpl, strlen(tmpl));
}

static char *
load(const char *rel, size_t *len)
{
	const char *dir = getenv("PAL_TEST_DATA");
	char path[1024];
	char *buf;
	long n;
	FILE *fp;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/hf/%s", dir, rel);
	if ((fp = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static size_t
count_rule(const struct pal_scan *s, const char *rule)
{
	size_t i, n = 0;

	for (i = 0; i < pal_scan_nfindings(s); i++)
		if (strcmp(pal_scan_finding(s, i)->rule, rule) == 0)
			n++;
	return n;
}

/* The first finding of rule whose reason mentions word (or any). */
static const struct pal_finding *
finding(const struct pal_scan *s, const char *rule, const char *word)
{
	const struct pal_finding *fd;
	size_t i;

	for (i = 0; i < pal_scan_nfindings(s); i++) {
		fd = pal_scan_finding(s, i);
		if (strcmp(fd->rule, rule) == 0 &&
		    (word == NULL || strstr(fd->reason, word) != NULL))
			return fd;
	}
	for (i = 0; i < pal_scan_nfindings(s); i++)
		fprintf(stderr, "  have %s: %s\n", pal_scan_finding(s, i)->rule,
		    pal_scan_finding(s, i)->reason);
	fail_msg("no finding %s mentioning %s", rule, word ? word : "-");
	return NULL;
}

static void
assert_clean(struct fixture *f, const char *what)
{
	size_t i;

	if (f->ret != 0 || pal_scan_nfindings(f->scan) != 0) {
		for (i = 0; i < pal_scan_nfindings(f->scan); i++)
			fprintf(stderr, "  %s: %s %s\n", what,
			    pal_scan_finding(f->scan, i)->rule,
			    pal_scan_finding(f->scan, i)->reason);
		fail_msg("%s: returned %d (%s), %zu findings", what, f->ret,
		    f->scan->err.msg, pal_scan_nfindings(f->scan));
	}
}

/* The published templates render nothing dangerous: no findings. */
static void
test_real_templates_clean(void **state)
{
	static const char *const names[] = {
		"llama3.jinja", "llama3.1-tools.jinja", "mistral-7b-v0.1.jinja",
		"mistral-v3-tools.jinja", "qwen2.jinja", "qwen2.5-tools.jinja",
		"qwen3.jinja", "gemma.jinja", "gemma3.jinja", "chatml.jinja",
		"phi3.jinja", "deepseek-r1.jinja", "hermes-tools.jinja",
		"zephyr-raw-comments.jinja",
	};
	struct fixture *f = *state;
	char rel[256], *t;
	size_t i, len;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(rel, sizeof(rel), "templates/%s", names[i]);
		t = load(rel, &len);
		check_n(f, t, len);
		assert_clean(f, names[i]);
		free(t);
	}
}

/* Each hostile template, and the name its finding must quote. */
static void
test_evil_templates(void **state)
{
	static const struct {
		const char *file, *rule, *word;
	} cases[] = {
		{ "lipsum-globals.jinja", "jinja.sandbox-escape", "__globals__" },
		{ "lipsum-globals.jinja", "jinja.os-access", "'os'" },
		{ "lipsum-globals.jinja", "jinja.os-access", "popen" },
		{ "lipsum-globals.jinja", "jinja.unusual", "lipsum" },
		{ "class-mro.jinja", "jinja.sandbox-escape", "__mro__" },
		{ "class-mro.jinja", "jinja.sandbox-escape", "__subclasses__" },
		{ "attr-hex.jinja", "jinja.sandbox-escape", "__class__" },
		{ "attr-hex.jinja", "jinja.escaped-name", NULL },
		{ "request-chain.jinja", "jinja.sandbox-escape", "__globals__" },
		{ "request-chain.jinja", "jinja.sandbox-escape", "__builtins__" },
		{ "request-chain.jinja", "jinja.sandbox-escape", "__import__" },
		{ "request-chain.jinja", "jinja.os-access", "popen" },
		{ "request-chain.jinja", "jinja.unusual", "request" },
		{ "concat-set.jinja", "jinja.sandbox-escape", "__globals__" },
		{ "join-list.jinja", "jinja.sandbox-escape", "__class__" },
		{ "format-chars.jinja", "jinja.sandbox-escape", "__class__" },
		{ "replace.jinja", "jinja.sandbox-escape", "__class__" },
		{ "reverse.jinja", "jinja.sandbox-escape", "__class__" },
		{ "slice-reverse.jinja", "jinja.sandbox-escape", "__class__" },
		{ "unicode-escape.jinja", "jinja.sandbox-escape", "__class__" },
		{ "unicode-escape.jinja", "jinja.escaped-name", NULL },
		{ "named-escape.jinja", "jinja.sandbox-escape", "__class__" },
		{ "octal-escape.jinja", "jinja.sandbox-escape", "__class__" },
		{ "template-reference.jinja", "jinja.sandbox-escape",
		  "_TemplateReference__context" },
		{ "template-reference.jinja", "jinja.sandbox-escape", "__init__" },
		{ "template-reference.jinja", "jinja.unusual", "self" },
		{ "dict-kwarg.jinja", "jinja.sandbox-escape", "__class__" },
		{ "computed-attr.jinja", "jinja.attr-computed", NULL },
		{ "repr-harvest.jinja", "jinja.unusual", "printed form" },
		{ "repr-harvest.jinja", "jinja.sandbox-escape", "__class__" },
		{ "block-set.jinja", "jinja.sandbox-escape", "__globals__" },
		{ "format-method.jinja", "jinja.sandbox-escape", "__base__" },
		{ "format-method.jinja", "jinja.format-attr", NULL },
		{ "namespace-popen.jinja", "jinja.os-access", "popen" },
		{ "adjacent-strings.jinja", "jinja.sandbox-escape", "__class__" },
		{ "macro-body.jinja", "jinja.sandbox-escape", "__init__" },
		{ "huge-range.jinja", "jinja.resource", "99999999" },
		{ "include.jinja", "jinja.unusual", "include" },
		{ "hidden-in-mistral.jinja", "jinja.sandbox-escape", "__globals__" },
		{ "hidden-in-mistral.jinja", "jinja.os-access", "popen" },
	};
	struct fixture *f = *state;
	char rel[256], *t;
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(rel, sizeof(rel), "evil/%s", cases[i].file);
		t = load(rel, &len);
		check_n(f, t, len);
		if (f->ret != 0)
			fail_msg("%s: returned %d: %s", cases[i].file, f->ret,
			    f->scan->err.msg);
		(void)finding(f->scan, cases[i].rule, cases[i].word);
		free(t);
	}
}

/* Obfuscations folded inline, each against its plain counterpart. */
static void
test_folding(void **state)
{
	struct fixture *f = *state;

	/* Benign constants fold to benign names. */
	check(f, "{{ x|attr('con' ~ 'tent') }}{{ x['ro' + 'le'] }}");
	assert_clean(f, "benign concatenation");
	check(f, "{{ message['system'] }}{{ 'os' }}{{ roles.system }}");
	assert_clean(f, "words that are only names when called");
	/* 'system' called is a command runner; built, it is obfuscated. */
	check(f, "{{ x['sys' ~ 'tem']('id') }}");
	(void)finding(f->scan, "jinja.os-access", "system");
	check(f, "{{ 'o' ~ 's' }}");
	(void)finding(f->scan, "jinja.os-access", "'os'");
	check(f, "{{ x|attr('__CLASS__'|lower) }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
	check(f, "{{ x|attr('  __class__ '|trim) }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
	check(f, "{{ x|attr('%s%s%s'|format('__', 'class', '__')) }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
	check(f, "{{ x|attr('%c%c' % (95, 95) ~ 'mro__') }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__mro__");
	check(f, "{{ x|attr('{}{}'.format('__', 'base__')) }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__base__");
	check(f, "{{ x|attr('_'.join(['', 'init', ''])) }}");
	assert_clean(f, "one underscore each side is not a dunder");
	check(f, "{{ x|attr('__'.join(['', 'init', ''])) }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__init__");
	check(f, "{{ x|attr('__'.join(['', 'len', ''])) }}");
	(void)finding(f->scan, "jinja.dunder", "__len__");
	check(f, "{{ x|attr(('__', 'class__')|join) }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
	check(f, "{{ x|attr(['_', '_', 'dict', '_', '_']|reverse|join) }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__dict__");
	check(f, "{{ x|attr('__globals__'.split(',')|first) }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__globals__");
	check(f, "{{ x['xx__class__xx'[2:-2]] }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
	check(f, "{{ x|attr(('_' * 2) ~ 'class' ~ ('_' * 2)) }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
	check(f, "{{ x|attr(('_xclass_x'|replace('x', '_'))) }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
	check(f, "{% set a = '__cl' %}{% set b = a ~ 'ass__' %}{{ x[b] }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
	check(f, "{% set ns = namespace() %}{% set ns.k = '__cl' ~ 'ass__' %}"
	    "{{ x[ns.k] }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
	check(f, "{% set a, b = '__glo', 'bals__' %}{{ x[a ~ b] }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__globals__");
	check(f, "{% with k = '__bu' ~ 'iltins__' %}{{ x[k] }}{% endwith %}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__builtins__");
	check(f, "{{ x['__glob' if true else 'x'] }}");
	assert_clean(f, "a prefix alone names nothing");
	check(f, "{{ x[('__glob' if true else 'x') ~ 'als__'] }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__globals__");
	check(f, "{{ x['\\x5f\\x5fglobals\\x5f\\x5f'] }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__globals__");
	(void)finding(f->scan, "jinja.escaped-name", NULL);
	check(f, "{{ x['\\U0000005f\\U0000005fmro\\U0000005f\\U0000005f'] }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__mro__");
	check(f, "{{ x['\\N{LATIN SMALL LETTER O}s'] }}");
	(void)finding(f->scan, "jinja.os-access", "'os'");
	/* Non-ASCII escapes are how real templates write ▁ and friends. */
	check(f, "{{ '\\u2581' ~ '\\n\\t\\'\\\"' }}");
	assert_clean(f, "non-name escapes");
	/* A name with unknown pieces still matches where it is looked up. */
	check(f, "{{ x[y ~ 'globals' ~ z] }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__globals__");
	check(f, "{{ x|attr(y ~ 'builtins' ~ z) }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__builtins__");
	check(f, "{{ x[y ~ z] }}");
	(void)finding(f->scan, "jinja.attr-computed", NULL);
	check(f, "{{ x[y] }}{{ x[loop.index0 - 1] }}{{ x[0] }}");
	assert_clean(f, "ordinary item lookups");
	/* Filters that look attributes up by name. */
	check(f, "{{ x|map(attribute='__class__')|list }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
	check(f, "{{ x|map('attr', '__class__')|list }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
	check(f, "{{ x|selectattr('__class__')|list }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
	check(f, "{{ x|sort(attribute='a.__class__') }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
	check(f, "{{ x|selectattr('type', 'equalto', 'text')|map(attribute="
	    "'text')|join }}");
	assert_clean(f, "benign attribute filters");
	check(f, "{{ '{0.name}'.format(x) }}");
	(void)finding(f->scan, "jinja.format-attr", NULL);
	check(f, "{{ '{0} and {1}'.format(x, y) }}");
	assert_clean(f, "plain str.format");
	check(f, "{{ lipsum ~ '' }}{{ (lipsum ~ '')[0] }}");
	(void)finding(f->scan, "jinja.unusual", "printed form");
}

static void
test_contexts(void **state)
{
	struct fixture *f = *state;

	/* Data, comments and raw blocks are text, not code. */
	check(f, "x.__class__ and __globals__ in prose {# {{ x.__class__ }} #}"
	    "{% raw %}{{ lipsum.__globals__.os }}{% endraw %}");
	assert_clean(f, "data, comments, raw");
	check(f, "{%- raw -%}{{ x.__class__ }}{%- endraw -%}{{ y }}");
	assert_clean(f, "raw with whitespace control");
	/* Strings that contain a name are prose too. */
	check(f, "{{ 'call x.__class__ to see' }}{{ \"os.popen\" }}");
	assert_clean(f, "names inside longer strings");
	/* A finding is reported once per name, at its first place. */
	check(f, "{{ a.__class__ }}\n  {{ b.__class__ }}");
	assert_int_equal(count_rule(f->scan, "jinja.sandbox-escape"), 1);
	assert_string_equal(finding(f->scan, "jinja.sandbox-escape", NULL)->location,
	    "chat_template line 1, column 6");
	check(f, "\n\n  {{ m.__dict__ }}");
	assert_string_equal(finding(f->scan, "jinja.sandbox-escape", NULL)->location,
	    "chat_template line 3, column 8");
	check(f, "{{ x.__len__() }}");
	(void)finding(f->scan, "jinja.dunder", "__len__");
	check(f, "{{ x.mro() }}{{ y.f_globals }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "mro");
	(void)finding(f->scan, "jinja.sandbox-escape", "f_globals");
	check(f, "{{ os }}{{ eval('1') }}{{ x.system('id') }}");
	(void)finding(f->scan, "jinja.os-access", "'os'");
	(void)finding(f->scan, "jinja.os-access", "eval");
	(void)finding(f->scan, "jinja.os-access", "system");
	/* The template's own variables are not the host's globals. */
	check(f, "{% set sys = messages[0] %}{% for os in x %}{{ os }}"
	    "{% endfor %}{% macro m(config) %}{{ config }}{% endmacro %}"
	    "{{ sys.content }}");
	assert_clean(f, "variables named like globals");
	check(f, "{% set __class__ = 1 %}{{ __class__ }}");
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
	check(f, "{{ config.items() }}{{ joiner() }}");
	(void)finding(f->scan, "jinja.unusual", "config");
	(void)finding(f->scan, "jinja.unusual", "joiner");
	/* Names that escape to long reports are still reported. */
	{
		char t[256];
		size_t i, n = 0;

		memcpy(t, "{{ x.__", 7);
		n = 7;
		for (i = 0; i < 100; i++)
			t[n++] = (char)0xff;
		memcpy(t + n, "__ }}{% ", 8);
		n += 8;
		for (i = 0; i < 100; i++)
			t[n++] = (char)0xff;
		memcpy(t + n, " %}", 4);
		check(f, t);
		(void)finding(f->scan, "jinja.dunder", "\\xff");
		(void)finding(f->scan, "jinja.unusual", "unknown tag");
	}
	/* Tags chat templates never use: found, and still checked. */
	check(f, "{% do x.__class__ %}");
	(void)finding(f->scan, "jinja.unusual", "'do'");
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
	assert_int_equal(f->ret, 0);
	check(f, "{% import 'x.html' as m %}{% from 'y' import z %}");
	(void)finding(f->scan, "jinja.unusual", "import");
	(void)finding(f->scan, "jinja.unusual", "from");
	check(f, "{% frobnicate %}");
	(void)finding(f->scan, "jinja.unusual", "frobnicate");
	/* Resource exhaustion outside a sandbox. */
	check(f, "{{ 9 ** 9999 }}");
	(void)finding(f->scan, "jinja.resource", "power");
	check(f, "{{ 'ab' * 99999999 }}");
	(void)finding(f->scan, "jinja.resource", "repeats");
	check(f, "{% for i in range(10) %}{{ 2 ** 10 }}{% endfor %}");
	assert_clean(f, "small range and power");
	/* Macros with parameters, call blocks, filter blocks, loops. */
	check(f, "{% macro m(a, b=1) %}{{ a }}{% endmacro %}"
	    "{% call(u) m(1) %}{{ u }}{% endcall %}"
	    "{% filter upper %}x{% endfilter %}"
	    "{% for k, v in d|dictsort if v recursive %}{{ loop(v) }}"
	    "{% else %}none{% endfor %}"
	    "{% if a is divisibleby 3 and b is not none %}{% elif c %}"
	    "{% else %}{% endif %}{{ {'a': [1, 2.5, (3,)]}['a'][1:] }}"
	    "{% generation %}{{ x }}{% endgeneration %}"
	    "{% for x in y %}{% if x %}{% break %}{% endif %}{% continue %}"
	    "{% endfor %}{{ -x|abs }}{{ not x }}{{ x if y }}"
	    "{{ 'a' 'b' }}{{ 0x1f + 0b1 + 0o7 + 1_000 + 1e3 }}");
	assert_clean(f, "grammar coverage");
}

/* Templates Jinja would refuse: an error with line and column. */
static void
test_syntax_errors(void **state)
{
	static const struct {
		const char *tmpl, *where;
	} cases[] = {
		{ "{{ x.", "line 1, column 1" },
		{ "{% if x %}no end", "line 1, column 1" },
		{ "ok\n{{ 'abc }}", "line 2, column 4" },
		{ "{{ '\\x5' }}", "line 1" },
		{ "{% endfor %}", "line 1, column 1" },
		{ "{# never closed", "line 1, column 1" },
		{ "{{ }}", "line 1" },
		{ "{% for %}{% endfor %}", "line 1" },
		{ "{{ a b }}", "line 1" },
		{ "{% raw %}unterminated", "line 1" },
		{ "{% if x %}{% endfor %}", "line 1" },
		{ "{{ x ) }}", "line 1" },
		{ "{% set %}", "line 1" },
		{ "{% else %}", "line 1" },
		{ "{{ 'a' \x01 }}", "line 1" },
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check(f, cases[i].tmpl);
		if (f->ret != PAL_ERR_FORMAT ||
		    strstr(f->scan->err.msg, cases[i].where) == NULL ||
		    strstr(f->scan->err.msg, "chat_template") == NULL)
			fail_msg("'%s': returned %d: %s", cases[i].tmpl, f->ret,
			    f->scan->err.msg);
	}
	/* A broken tag is still checked token by token: findings first. */
	check(f, "{{ x.__class__.__mro__ ) }}{{ lipsum.__globals__ }}");
	assert_int_equal(f->ret, PAL_ERR_FORMAT);
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
	(void)finding(f->scan, "jinja.sandbox-escape", "__mro__");
	(void)finding(f->scan, "jinja.sandbox-escape", "__globals__");
	check(f, "{% if x.__class__ %}");
	assert_int_equal(f->ret, PAL_ERR_FORMAT);
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
}

static void
test_limits(void **state)
{
	struct fixture *f = *state;
	size_t n = 4000, i;
	char *t = malloc(2 * n + 16);

	/* Nesting past the limit is refused, not recursed into. */
	assert_non_null(t);
	memcpy(t, "{{ ", 3);
	for (i = 0; i < n; i++)
		t[3 + i] = '(';
	for (i = 0; i < n; i++)
		t[3 + n + i] = ')';
	memcpy(t + 3 + 2 * n, " }}", 4);
	check(f, t);
	assert_int_equal(f->ret, PAL_ERR_LIMIT);
	assert_non_null(strstr(f->scan->err.msg, "nested"));
	free(t);
	/* Blocks nested past the limit. */
	t = malloc(10 * 300 + 1);
	assert_non_null(t);
	for (i = 0; i < 300; i++)
		memcpy(t + 10 * i, "{% if x %}", 10);
	t[10 * 300] = '\0';
	check(f, t);
	assert_int_equal(f->ret, PAL_ERR_LIMIT);
	free(t);
	/* Constant arithmetic that would never finish is not run. */
	check(f, "{{ '' * 999999999999999 }}{{ 1 ** 999999999999999 }}"
	    "{{ (-1) ** 999999999999999 }}{{ 0 ** 99999999999 }}");
	assert_int_equal(f->ret, 0);
	/* Nested assignment targets count against the nesting limit. */
	n = 5000;
	t = malloc(2 * n + 64);
	assert_non_null(t);
	memcpy(t, "{% for ", 7);
	memset(t + 7, '(', n);
	t[7 + n] = 'x';
	memset(t + 8 + n, ')', n);
	snprintf(t + 8 + 2 * n, 48, " in y %%}{%% endfor %%}");
	check(f, t);
	assert_int_equal(f->ret, PAL_ERR_LIMIT);
	free(t);
	/* A tag of too many tokens. */
	n = 70000;
	t = malloc(2 * n + 16);
	assert_non_null(t);
	memcpy(t, "{{ ", 3);
	for (i = 0; i < n; i++)
		memcpy(t + 3 + 2 * i, "a+", 2);
	memcpy(t + 3 + 2 * n, "b }}", 5);
	check(f, t);
	assert_int_equal(f->ret, PAL_ERR_LIMIT);
	assert_non_null(strstr(f->scan->err.msg, "tokens"));
	free(t);
	/* A template over the size limit is refused outright. */
	n = ((size_t)1 << 20) + 1;
	t = malloc(n);
	assert_non_null(t);
	memset(t, 'a', n);
	check_n(f, t, n);
	assert_int_equal(f->ret, PAL_ERR_LIMIT);
	free(t);
	/* Long constants stop being followed rather than growing. */
	n = 100000;
	t = malloc(n + 32);
	assert_non_null(t);
	memcpy(t, "{{ x['", 6);
	memset(t + 6, 'a', n);
	memcpy(t + 6 + n, "' ~ '__class__'] }}", 20);
	check(f, t);
	assert_int_equal(f->ret, 0);
	(void)finding(f->scan, "jinja.sandbox-escape", "__class__");
	free(t);
	/* Many variables: a finding says the rest are not followed. */
	t = malloc(600 * 24 + 64);
	assert_non_null(t);
	for (i = 0, n = 0; i < 600; i++)
		n += (size_t)snprintf(t + n, 24, "{%% set v%zu = 'a' %%}", i);
	snprintf(t + n, 64, "{{ x[v599 ~ 'b'] }}");
	check(f, t);
	(void)finding(f->scan, "jinja.unusual", "variables");
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_real_templates_clean,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_evil_templates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_folding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_contexts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
