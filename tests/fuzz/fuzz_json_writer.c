/*
 * fuzz_json_writer.c - the record writer (src/base/json_writer.c) on
 * arbitrary bytes as a string value: its output always parses with
 * Jansson, is 7-bit, and decodes to the input when the input is valid
 * UTF-8 without NUL (Jansson then also writes the same bytes); otherwise
 * to the input with each invalid byte replaced.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "palisade/json_writer.h"
#include "palisade/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_buf b;
	struct pal_jw w;
	json_error_t je;
	json_t *doc, *s;

	pal_buf_init(&b, 1 << 20);
	pal_jw_init(&w, &b);
	pal_jw_object(&w, NULL);
	pal_jw_stringn(&w, "s", (const char *)data, size);
	pal_jw_close(&w);
	if (pal_jw_error(&w) != 0)
		abort();
	for (size_t i = 0; i < b.len; i++)
		if (b.p[i] >= 0x80 || b.p[i] < 0x20)
			abort();
	doc = json_loadb((const char *)b.p, b.len, JSON_ALLOW_NUL, &je);
	s = json_object_get(doc, "s");
	if (!json_is_string(s))
		abort();
	if (pal_utf8_valid((const char *)data, size)) {
		if (json_string_length(s) != size ||
		    memcmp(json_string_value(s), data, size) != 0)
			abort();
		if (memchr(data, 0, size) == NULL) {
			json_t *o = json_object();
			char *want;

			json_object_set_new(o, "s", json_stringn(
				(const char *)data, size));
			want = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
			if (want == NULL || strcmp(want, (char *)b.p) != 0)
				abort();
			free(want);
			json_decref(o);
		}
	}
	json_decref(doc);
	pal_buf_free(&b);
	return 0;
}
