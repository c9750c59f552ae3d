/*
 * test_reqlog.c - the gateway's records in the log (src/gateway/reqlog.c):
 * records queued from several threads all become entries of the common
 * format, in a log that verifies; a full queue turns the log "not ok" so
 * that the gateway stops serving; a closed log takes its queue with it.
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
#include "../../src/gateway/gw_int.h"

#define THREADS 8
#define EACH 250

static char dir[4096];
static struct gw_reqlog *rl;

static void
make_log(const char *name)
{
	const char *tmp = getenv("PAL_TEST_TMP");
	struct pal_err err = { 0 };

	snprintf(dir, sizeof(dir), "%s/%s.%ld", tmp ? tmp : "/tmp", name,
		 (long)getpid());
	if (pal_log_init(dir, "palisade.test/reqlog", NULL, &err) < 0)
		fail_msg("init: %s", err.msg);
}

static void *
submitter(void *arg)
{
	int t = (int)(intptr_t)arg;

	for (int i = 0; i < EACH; i++) {
		json_t *d = json_pack("{s:i, s:i, s:s}", "thread", t, "i", i,
				      "route", "chat");
		if (gw_reqlog_submit(rl, "serve.request", NULL, d) < 0)
			return (void *)1;
	}
	return NULL;
}

static void
all_records_logged(void **state)
{
	struct pal_err err = { 0 };
	struct pal_log_verify_report r;
	pthread_t th[THREADS];
	uint8_t *entry = NULL;
	size_t len = 0;

	(void)state;
	make_log("reqlog-all");
	assert_int_equal(gw_reqlog_open(dir, -1, 4, 100000, &rl, &err), 0);
	for (intptr_t t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, submitter,
						(void *)t), 0);
	for (int t = 0; t < THREADS; t++) {
		void *ret;
		pthread_join(th[t], &ret);
		assert_null(ret);
	}
	gw_reqlog_flush(rl);
	assert_int_equal(gw_reqlog_appended(rl), THREADS * EACH);
	assert_true(gw_reqlog_ok(rl));
	assert_int_equal(gw_reqlog_close(rl, &err), 0);
	if (pal_log_verify(dir, NULL, &r, &err) < 0)
		fail_msg("verify: %s", err.msg);
	assert_int_equal(r.size, THREADS * EACH);
	assert_int_equal(pal_log_get(dir, 17, &entry, &len, &err), 0);
	assert_non_null(strstr((char *)entry, "\"type\":\"serve.request\""));
	assert_non_null(strstr((char *)entry, "\"actor\":\"serve\""));
	assert_non_null(strstr((char *)entry, "\"route\":\"chat\""));
	free(entry);
}

/* A queue of 1 overflows at once when nothing drains it fast enough. */
static void
full_queue_fails_closed(void **state)
{
	struct pal_err err = { 0 };
	char why[256];
	int refused = 0;

	(void)state;
	make_log("reqlog-full");
	assert_int_equal(gw_reqlog_open(dir, -1, 1, 1, &rl, &err), 0);
	for (int i = 0; i < 2000 && !refused; i++)
		refused = gw_reqlog_submit(rl, "serve.request", NULL,
					   json_pack("{s:i}", "i", i)) < 0;
	assert_true(refused);
	assert_false(gw_reqlog_ok(rl));
	gw_reqlog_why(rl, why, sizeof(why));
	assert_non_null(strstr(why, "queue full"));
	/* Once broken, nothing more is taken. */
	assert_int_equal(gw_reqlog_submit(rl, "serve.request", NULL,
					  json_object()), -1);
	assert_int_not_equal(gw_reqlog_close(rl, &err), 0);
	assert_non_null(strstr(err.msg, "queue full"));
}

static void
bad_subject_breaks_the_log(void **state)
{
	struct pal_err err = { 0 };

	(void)state;
	make_log("reqlog-bad");
	assert_int_equal(gw_reqlog_open(dir, -1, 1, 16, &rl, &err), 0);
	/* Records are encoded when queued: a bad one is refused at once. */
	assert_int_equal(gw_reqlog_submit(rl, "serve.request", "md5:00",
					  json_object()), -1);
	assert_false(gw_reqlog_ok(rl));
	assert_int_not_equal(gw_reqlog_close(rl, &err), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(all_records_logged),
		cmocka_unit_test(full_queue_fails_closed),
		cmocka_unit_test(bad_subject_breaks_the_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
