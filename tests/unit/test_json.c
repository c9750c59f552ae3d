/*
 * test_json.c - the JSON config scanner: the configs real models ship
 * (tests/data/hf/configs, written by make_configs.py) come out clean;
 * each construct that makes transformers, diffusers, PEFT or
 * sentence-transformers import code yields its rule; chat templates in
 * tokenizer configs reach the Jinja check; malformed JSON, duplicate keys
 * and limits end in errors that name line and column.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "scan_fixture.h"

/* Scans data as format (PAL_FMT_UNKNOWN: detected) in a fresh session. */
static struct pal_scan *
scan_as(struct fixture *f, const void *data, size_t len, enum pal_format fmt)
{
	scan_fixture_session(f, NULL);
	assert_int_equal(pal_scan_memory_as(f->scan, "config.json", data, len,
	    fmt), 0);
	assert_int_equal(pal_scan_nresults(f->scan), 1);
	return f->scan;
}

static struct pal_scan *
scan_str(struct fixture *f, const char *json)
{
	return scan_as(f, json, strlen(json), PAL_FMT_JSON);
}

/* Scans a file from tests/data/hf/configs, its format detected. */
static struct pal_scan *
scan_file(struct fixture *f, const char *name)
{
	size_t len;
	uint8_t *data = load_in("hf/configs", name, &len);

	scan_as(f, data, len, PAL_FMT_UNKNOWN);
	free(data);
	return f->scan;
}

static void
dump(const struct pal_scan *s)
{
	const struct pal_scan_result *r = pal_scan_result(s, 0);
	size_t i;

	fprintf(stderr, "  status %d format %s detail %s\n", r->status,
	    r->format, r->detail ? r->detail : "-");
	for (i = 0; i < pal_scan_nfindings(s); i++)
		fprintf(stderr, "  %s at %s: %s\n", pal_scan_finding(s, i)->rule,
		    pal_scan_finding(s, i)->location,
		    pal_scan_finding(s, i)->reason);
}

/* The finding of rule at location loc (NULL: any) mentioning word. */
static const struct pal_finding *
find_at(const struct pal_scan *s, const char *rule, const char *loc,
    const char *word)
{
	const struct pal_finding *fd;
	size_t i;

	for (i = 0; i < pal_scan_nfindings(s); i++) {
		fd = pal_scan_finding(s, i);
		if (strcmp(fd->rule, rule) == 0 &&
		    (loc == NULL || strcmp(fd->location, loc) == 0) &&
		    (word == NULL || strstr(fd->reason, word) != NULL))
			return fd;
	}
	dump(s);
	fail_msg("no finding %s at %s mentioning %s", rule, loc ? loc : "-",
	    word ? word : "-");
	return NULL;
}

static void
assert_clean(const struct pal_scan *s, const char *what)
{
	const struct pal_scan_result *r = pal_scan_result(s, 0);

	if (r->status != PAL_ITEM_CLEAN || pal_scan_nfindings(s) != 0 ||
	    strcmp(r->format, "json") != 0) {
		dump(s);
		fail_msg("%s is not clean", what);
	}
}

/* An error whose detail mentions every word given. */
static void
expect_error(const struct pal_scan *s, const char *what, const char *w1,
    const char *w2)
{
	const struct pal_scan_result *r = pal_scan_result(s, 0);

	if (r->status != PAL_ITEM_ERROR || r->detail == NULL ||
	    (w1 != NULL && strstr(r->detail, w1) == NULL) ||
	    (w2 != NULL && strstr(r->detail, w2) == NULL)) {
		dump(s);
		fail_msg("%s: expected an error mentioning '%s' and '%s'", what,
		    w1 ? w1 : "", w2 ? w2 : "");
	}
}

static void
test_benign_clean(void **state)
{
	static const char *const files[] = {
		"llama3-config.json", "generation_config.json",
		"qwen2.5-tokenizer_config.json", "list-tokenizer_config.json",
		"chat_template.json", "preprocessor_config.json",
		"model_index.json", "adapter_config.json", "tokenizer.json",
		"nonfinite-config.json", "bom-config.json",
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		assert_clean(scan_file(f, files[i]), files[i]);
	assert_clean(scan_str(f, "{\"a\": [1, 2.5, {\"b\": null}], \"c\": "
	    "\"\\u00e9\\ud83d\\ude00\"}"), "generic JSON");
	assert_clean(scan_str(f, "42"), "a scalar document");
	assert_clean(scan_str(f, "[]"), "an empty array");
}

static void
test_remote_code(void **state)
{
	struct fixture *f = *state;
	const struct pal_finding *fd;

	scan_file(f, "automap-config.json");
	assert_int_equal(count_rule(f->scan, "hf.remote-code"), 2);
	fd = find_at(f->scan, "hf.remote-code", "auto_map.AutoConfig",
	    "configuration_phi3.Phi3Config");
	assert_int_equal(fd->severity, PAL_SEV_HIGH);
	(void)find_at(f->scan, "hf.remote-code", "auto_map.AutoModelForCausalLM",
	    "modeling_phi3.Phi3ForCausalLM");

	scan_file(f, "automap-foreign-config.json");
	fd = find_at(f->scan, "hf.remote-code-foreign", "auto_map.AutoConfig",
	    "evil-org/helpers--configuration_x.XConfig");
	assert_int_equal(fd->severity, PAL_SEV_CRITICAL);
	(void)find_at(f->scan, "hf.remote-code", "auto_map.AutoModel", NULL);

	scan_file(f, "automap-tokenizer_config.json");
	(void)find_at(f->scan, "hf.remote-code", "auto_map.AutoTokenizer",
	    "tokenization_chatglm.ChatGLMTokenizer");
	/* The custom class is covered by the auto_map finding. */
	assert_int_equal(count_rule(f->scan, "hf.custom-class"), 0);

	scan_file(f, "automap-legacy-tokenizer_config.json");
	assert_int_equal(count_rule(f->scan, "hf.remote-code"), 2);

	scan_file(f, "pipeline-config.json");
	(void)find_at(f->scan, "hf.remote-code",
	    "custom_pipelines.text-classification.impl", "pipeline_x.XPipeline");

	scan_str(f, "{\"custom_pipelines\": {\"t\": {\"impl\": "
	    "\"o/r--p.P\"}}}");
	(void)find_at(f->scan, "hf.remote-code-foreign", NULL, "o/r--p.P");

	scan_file(f, "diffusers-custom-model_index.json");
	(void)find_at(f->scan, "hf.remote-code", "_class_name", "pipeline_evil");
	(void)find_at(f->scan, "hf.remote-code", "unet", "my_unet");
	assert_int_equal(count_rule(f->scan, "hf.remote-code"), 2);

	/* sentence-transformers modules.json is an array. */
	scan_str(f, "[{\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": "
	    "\"sentence_transformers.models.Transformer\"}, {\"idx\": 1, "
	    "\"type\": \"custom_st.Pooling\"}]");
	(void)find_at(f->scan, "hf.remote-code", "[1].type", "custom_st.Pooling");
	assert_int_equal(pal_scan_nfindings(f->scan), 1);

	/* Malformed auto_map entries still ask for repository code. */
	scan_str(f, "{\"auto_map\": {\"AutoModel\": 7}}");
	(void)find_at(f->scan, "hf.remote-code", "auto_map.AutoModel",
	    "not a class reference");
	scan_str(f, "{\"auto_map\": {\"AutoTokenizer\": [null, null]}}");
	assert_clean(f->scan, "auto_map without references");
}

static void
test_other_code_paths(void **state)
{
	struct fixture *f = *state;

	scan_file(f, "trust-config.json");
	(void)find_at(f->scan, "hf.trust-remote-code",
	    "text_config.model_kwargs.trust_remote_code", NULL);
	scan_str(f, "{\"trust_remote_code\": false, \"vocab\": "
	    "{\"trust_remote_code\": 5}}");
	assert_clean(f->scan, "trust_remote_code not set to true");

	scan_file(f, "custom-tokenizer_config.json");
	(void)find_at(f->scan, "hf.custom-class", "tokenizer_class",
	    "EvilTokenizer");
	scan_str(f, "{\"tokenizer_class\": \"LlamaTokenizer\"}");
	assert_clean(f->scan, "a transformers tokenizer");
	scan_str(f, "{\"tokenizer_class\": \"GPT2TokenizerFast\"}");
	assert_clean(f->scan, "a fast transformers tokenizer");
	scan_file(f, "dotted-processor_config.json");
	(void)find_at(f->scan, "hf.custom-class", "processor_class", "os.system");

	scan_file(f, "kernel-config.json");
	(void)find_at(f->scan, "hf.hub-kernel", "attn_implementation",
	    "kernels-community/flash-attn3");
	scan_str(f, "{\"attn_implementation\": \"flash_attention_2\", "
	    "\"_attn_implementation\": \"sdpa\"}");
	assert_clean(f->scan, "built-in attention implementations");

	scan_file(f, "peft-module-adapter_config.json");
	(void)find_at(f->scan, "hf.module-import",
	    "auto_mapping.parent_library", "'os'");
	scan_str(f, "{\"peft_type\": \"LORA\", \"auto_mapping\": "
	    "{\"base_model_class\": \"LlamaModel\", \"parent_library\": "
	    "\"transformers.models.llama.modeling_llama\"}}");
	assert_clean(f->scan, "PEFT auto_mapping into transformers");

	/* Hostile keys are escaped before they reach a report. */
	scan_str(f, "{\"auto_map\": {\"Auto\\u001b[31m\": \"m.\\u0007C\"}}");
	(void)find_at(f->scan, "hf.remote-code", "auto_map.Auto\\x1b[31m",
	    "m.\\x07C");
}

static void
test_chat_templates(void **state)
{
	struct fixture *f = *state;

	scan_file(f, "evil-list-tokenizer_config.json");
	(void)find_at(f->scan, "jinja.sandbox-escape",
	    "chat_template.tool_use line 1, column 11", "__globals__");
	(void)find_at(f->scan, "jinja.os-access", NULL, "popen");

	scan_file(f, "evil-chat_template.json");
	(void)find_at(f->scan, "jinja.sandbox-escape", NULL, "__builtins__");
	(void)find_at(f->scan, "jinja.escaped-name", NULL, NULL);

	/* A template that does not parse: the item is an error. */
	scan_file(f, "bad-template-config.json");
	expect_error(f->scan, "unclosed block", "chat_template", "line 1");

	/* Findings outrank the syntax error that follows them. */
	scan_str(f, "{\"chat_template\": \"{{ x.__class__ }}{% if %}\"}");
	(void)find_at(f->scan, "jinja.sandbox-escape", NULL, "__class__");
	assert_int_equal(pal_scan_result(f->scan, 0)->status,
	    PAL_ITEM_FINDINGS);

	/* Unnamed list entries are named by index; non-strings skipped. */
	scan_str(f, "{\"chat_template\": [{\"template\": 5}, {\"template\": "
	    "\"{{ x.__mro__ }}\"}]}");
	(void)find_at(f->scan, "jinja.sandbox-escape", "chat_template.1 line 1, "
	    "column 6", "__mro__");

	/* Nested configs (processor configs) carry templates too. */
	scan_str(f, "{\"processor\": {\"chat_template\": \"{{ cycler }}\"}}");
	(void)find_at(f->scan, "jinja.unusual", NULL, "cycler");
}

static void
test_keras_dispatch(void **state)
{
	struct fixture *f = *state;
	size_t i;

	/*
	 * A Keras config goes to the Keras checker, not through the HF
	 * checks: the auto_map inside it is no HF finding.
	 */
	scan_file(f, "keras-config.json");
	for (i = 0; i < pal_scan_nfindings(f->scan); i++)
		assert_true(strncmp(pal_scan_finding(f->scan, i)->rule, "hf.",
		    3) != 0);
	scan_str(f, "{\"class_name\": \"Functional\", \"config\": "
	    "{\"auto_map\": {\"AutoModel\": \"m.C\"}, \"layers\": []}}");
	assert_int_equal(count_rule(f->scan, "hf.remote-code"), 0);
	/* Without "config" it is not Keras: HF checks apply. */
	scan_str(f, "{\"class_name\": \"X\", \"auto_map\": "
	    "{\"AutoModel\": \"m.C\"}}");
	assert_int_equal(count_rule(f->scan, "hf.remote-code"), 1);
}

static void
test_duplicates(void **state)
{
	struct fixture *f = *state;
	const struct pal_scan_result *r;

	scan_file(f, "duplicate-config.json");
	(void)find_at(f->scan, "json.duplicate-key", NULL, "line 3, column 13");
	/* The rest is still checked, as Python would read it. */
	(void)find_at(f->scan, "hf.remote-code", "auto_map.AutoModel", NULL);
	r = pal_scan_result(f->scan, 0);
	assert_int_equal(r->status, PAL_ITEM_FINDINGS);
	assert_non_null(strstr(r->detail, "duplicate key at line 3"));
	scan_str(f, "{\"a\": {\"b\": 1, \"b\": 2}}");
	(void)find_at(f->scan, "json.duplicate-key", NULL, "line 1");
}

static void
test_malformed(void **state)
{
	static const struct {
		const char *file, *w1, *w2;
	} files[] = {
		{ "bad-truncated.json", "invalid JSON", "line 1, column" },
		{ "bad-trailing.json", "invalid JSON", "line 1, column 25" },
		{ "bad-utf8.json", "invalid JSON", "line 1, column" },
		{ "bad-nul.json", "invalid JSON", "u0000" },
		{ "bad-syntax.json", "invalid JSON", "line 3, column 14" },
	};
	struct fixture *f = *state;
	char *deep;
	size_t i, n;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		expect_error(scan_file(f, files[i].file), files[i].file,
		    files[i].w1, files[i].w2);
	expect_error(scan_str(f, ""), "empty", "invalid JSON", NULL);
	expect_error(scan_str(f, "{\"a\": NaNa}"), "NaN prefix", "invalid",
	    NULL);
	expect_error(scan_str(f, "{\"a\": 1e999}"), "overflow", "invalid",
	    NULL);
	expect_error(scan_str(f, "{\"a\": \"\t\"}"), "control character",
	    "invalid", NULL);
	/* Nesting beyond the limit is refused before Jansson recurses. */
	n = 100000;
	deep = malloc(2 * n + 1);
	assert_non_null(deep);
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	expect_error(scan_str(f, deep), "deep nesting", "nested deeper",
	    "line 1, column 257");
	free(deep);
	/* Brackets inside strings do not count. */
	assert_clean(scan_str(f, "{\"a\": \"[[[[[[[[[[[[[[[[[[[[\\\"[[[[\"}"),
	    "brackets in a string");
}

static void
test_limits_and_detection(void **state)
{
	struct fixture *f = *state;
	size_t n = ((size_t)64 << 20) + 1, i;
	char *big = malloc(n);

	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	scan_as(f, big, n, PAL_FMT_JSON);
	expect_error(f->scan, "oversized", "exceeds", NULL);
	free(big);
	/* Many tiny values would cost far more memory than their bytes. */
	n = ((size_t)5 << 20) * 3;
	big = malloc(n + 2);
	assert_non_null(big);
	big[0] = '[';
	for (i = 0; i < n / 3; i++)
		memcpy(big + 1 + 3 * i, "[],", 3);
	memcpy(big + n - 2, "[]]", 3);
	scan_as(f, big, n + 1, PAL_FMT_JSON);
	expect_error(f->scan, "too many values", "more than", "values");
	free(big);
	/* Detection routes a config by content. */
	scan_file(f, "llama3-config.json");
	assert_string_equal(pal_scan_result(f->scan, 0)->format, "json");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_benign_clean, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_remote_code, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_other_code_paths, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chat_templates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_keras_dispatch, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_limits_and_detection,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
