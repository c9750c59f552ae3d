/*
 * test_tlog.c - the log's library API: concurrent appends get distinct,
 * contiguous indices and their own content back; entries stay invisible
 * until published; the writer's lock; bad input.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "palisade/tlog.h"

#define THREADS 64
#define EACH 50

static char dir[4096];
static struct pal_log *lg;
static uint64_t got[THREADS][EACH];

static void
make_dir(const char *name)
{
	const char *tmp = getenv("PAL_TEST_TMP");
	snprintf(dir, sizeof(dir), "%s/%s.%ld", tmp ? tmp : "/tmp", name,
		 (long)getpid());
	struct pal_err err = { 0 };
	if (pal_log_init(dir, "palisade.test/unit", NULL, &err) < 0)
		fail_msg("init: %s", err.msg);
}

static void *
appender(void *arg)
{
	int t = (int)(intptr_t)arg;
	for (int i = 0; i < EACH; i++) {
		char e[64];
		int n = snprintf(e, sizeof(e), "thread %d entry %d", t, i);
		struct pal_err err = { 0 };
		if (pal_log_append(lg, (const uint8_t *)e, (size_t)n,
				   &got[t][i], &err) < 0)
			return (void *)1;
	}
	return NULL;
}

static void
concurrent_appends(void **state)
{
	(void)state;
	struct pal_err err = { 0 };
	make_dir("tlog-concurrent");
	assert_int_equal(pal_log_open_dir(dir, &lg, &err), 0);
	pthread_t th[THREADS];
	for (int t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, appender, (void *)(intptr_t)t);
	for (int t = 0; t < THREADS; t++) {
		void *r;
		pthread_join(th[t], &r);
		assert_null(r);
	}
	assert_int_equal(pal_log_durable_size(lg), THREADS * EACH);
	/* Durable but not yet published: readers do not see them. */
	uint8_t *data = NULL;
	size_t len = 0;
	assert_int_equal(pal_log_get(dir, 0, &data, &len, &err),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_log_publish(lg, &err), 0);
	assert_int_equal(pal_log_published_size(lg), THREADS * EACH);
	/* Another writer is refused while this one holds the log. */
	struct pal_log *second = NULL;
	assert_int_equal(pal_log_open_dir(dir, &second, &err),
			 PAL_ERR_SYSTEM);
	assert_non_null(strstr(err.msg, "another process"));
	assert_int_equal(pal_log_close(lg, &err), 0);

	static uint8_t seen[THREADS * EACH];
	for (int t = 0; t < THREADS; t++) {
		for (int i = 0; i < EACH; i++) {
			uint64_t idx = got[t][i];
			assert_true(idx < THREADS * EACH);
			assert_int_equal(seen[idx], 0);
			seen[idx] = 1;
			char want[64];
			snprintf(want, sizeof(want), "thread %d entry %d", t, i);
			assert_int_equal(pal_log_get(dir, idx, &data, &len,
						     &err), 0);
			assert_int_equal(len, strlen(want));
			assert_memory_equal(data, want, len);
			free(data);
			/* One thread's entries keep their order. */
			if (i > 0)
				assert_true(got[t][i - 1] < idx);
		}
	}
	struct pal_log_verify_report r;
	assert_int_equal(pal_log_verify(dir, NULL, &r, &err), 0);
	assert_int_equal(r.size, THREADS * EACH);
}

static void
bad_entries(void **state)
{
	(void)state;
	struct pal_err err = { 0 };
	make_dir("tlog-bad");
	assert_int_equal(pal_log_open_dir(dir, &lg, &err), 0);
	uint64_t idx;
	static uint8_t big[65536];
	assert_int_equal(pal_log_append(lg, big, 0, &idx, &err),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_log_append(lg, big, sizeof(big), &idx, &err),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_log_append(lg, big, 65535, &idx, &err), 0);
	assert_int_equal(idx, 0);
	assert_int_equal(pal_log_close(lg, &err), 0);
	assert_int_equal(pal_log_init(dir, "again", NULL, &err),
			 PAL_ERR_INVALID);
	char *e = NULL;
	assert_int_equal(pal_log_entry_build("Model.Sign", "cli", NULL, NULL,
					     0, &e, &err), PAL_ERR_INVALID);
	assert_int_equal(pal_log_entry_build("model.sign", "cli", "sha256:x",
					     NULL, 0, &e, &err),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_log_entry_build("model.sign", "cli", NULL, "[1]",
					     0, &e, &err), PAL_ERR_INVALID);
	assert_int_equal(pal_log_entry_build("model.sign", "cli", NULL,
					     "{\"a\":1}", 0, &e, &err), 0);
	assert_string_equal(e, "{\"type\":\"model.sign\",\"time\":"
			    "\"1970-01-01T00:00:00Z\",\"actor\":\"cli\","
			    "\"details\":{\"a\":1}}");
	free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(concurrent_appends),
		cmocka_unit_test(bad_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
