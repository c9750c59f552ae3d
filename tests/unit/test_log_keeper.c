/*
 * test_log_keeper.c - the log's key in another process (log_keeper.c): a
 * log whose checkpoints a keeper signs grows and verifies; the keeper
 * refuses, with its reason, every checkpoint that is not an honest
 * extension of its log: another origin, extension lines, a smaller tree,
 * a root the tiles do not hash to, and tiles rewritten under an old root.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "palisade/note.h"
#include "palisade/note_sign.h"
#include "palisade/tlog.h"

#define ORIGIN "palisade.test/keeper"

static char dir[4096];
static int fds[2];
static pthread_t keeper;
static struct pal_err keeper_err;
static int keeper_rc;

static void *
run_keeper(void *arg)
{
	(void)arg;
	keeper_rc = pal_log_keeper_serve(dir, fds[1], &keeper_err);
	return NULL;
}

static int
setup(void **state)
{
	struct pal_err err = { 0 };
	const char *tmp = getenv("PAL_TEST_TMP");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/keeper.%ld", tmp ? tmp : "/tmp",
		 (long)getpid());
	if (pal_log_init(dir, ORIGIN, NULL, &err) < 0) {
		fprintf(stderr, "init: %s\n", err.msg);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0)
		return -1;
	return pthread_create(&keeper, NULL, run_keeper, NULL) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	close(fds[0]);
	pthread_join(keeper, NULL);
	close(fds[1]);
	return keeper_rc == 0 ? 0 : -1;
}

static void
append_n(struct pal_log *l, int n, int base)
{
	for (int i = 0; i < n; i++) {
		char e[64];
		int len = snprintf(e, sizeof(e), "entry %d", base + i);
		uint64_t idx;
		struct pal_err err = { 0 };
		if (pal_log_append(l, (const uint8_t *)e, (size_t)len, &idx,
				   &err) < 0)
			fail_msg("append: %s", err.msg);
	}
}

/* Asks the keeper, through a signer, to sign text; returns its answer. */
static int
ask(const char *text, struct pal_err *err)
{
	struct pal_note_signer *s = NULL;
	uint8_t sig[PAL_NOTE_ED25519_SIG_LEN];
	int rc = pal_log_keeper_signer(dir, fds[0], &s, err);

	if (rc == 0)
		rc = s->sign(s, (const uint8_t *)text, strlen(text), sig, err);
	pal_note_signer_free(s);
	return rc;
}

static void
checkpoint_text(uint64_t size, const uint8_t root[32], const char *origin,
		const char *ext, char *out, size_t cap)
{
	struct pal_buf b;
	struct pal_err err = { 0 };
	const char *exts[1] = { ext };

	pal_buf_init(&b, 4096);
	assert_int_equal(pal_checkpoint_format(origin, size, root, exts,
					       ext ? 1 : 0, &b, &err), 0);
	snprintf(out, cap, "%s", (const char *)b.p);
	pal_buf_free(&b);
}

/* The root of the published log, from its checkpoint file. */
static void
published(uint64_t *size, uint8_t root[32])
{
	char path[4200];
	FILE *f;
	char text[1024] = { 0 };
	struct pal_checkpoint *c = NULL;
	struct pal_err err = { 0 };
	size_t n;

	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	/* The text ends at the blank line before the signatures. */
	char *end = strstr(text, "\n\n");
	assert_non_null(end);
	n = (size_t)(end - text) + 1;
	assert_int_equal(pal_checkpoint_parse((const uint8_t *)text, n, &c,
					      &err), 0);
	*size = c->size;
	memcpy(root, c->root, 32);
	pal_checkpoint_free(c);
}

static void
signs_honest_growth(void **state)
{
	struct pal_log *l = NULL;
	struct pal_err err = { 0 };
	struct pal_log_verify_report r;

	(void)state;
	assert_int_equal(pal_log_open_keeper(dir, fds[0], &l, &err), 0);
	append_n(l, 300, 0);
	assert_int_equal(pal_log_publish(l, &err), 0);
	append_n(l, 5, 300);
	assert_int_equal(pal_log_close(l, &err), 0);
	if (pal_log_verify(dir, NULL, &r, &err) < 0)
		fail_msg("verify: %s", err.msg);
	assert_int_equal(r.size, 305);
}

static void
refuses_forgeries(void **state)
{
	struct pal_err err = { 0 };
	uint64_t size;
	uint8_t root[32], bad[32];
	char text[1024];

	(void)state;
	published(&size, root);
	assert_int_equal(size, 305);

	checkpoint_text(size, root, "other.origin/log", NULL, text,
			sizeof(text));
	assert_int_equal(ask(text, &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "origin"));

	checkpoint_text(size, root, ORIGIN, "extra line", text, sizeof(text));
	assert_int_equal(ask(text, &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "extension"));

	checkpoint_text(size - 1, root, ORIGIN, NULL, text, sizeof(text));
	assert_int_equal(ask(text, &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "below"));

	memcpy(bad, root, 32);
	bad[7] ^= 1;
	checkpoint_text(size, bad, ORIGIN, NULL, text, sizeof(text));
	assert_int_equal(ask(text, &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "do not hash"));

	/* The honest checkpoint itself is signed again. */
	checkpoint_text(size, root, ORIGIN, NULL, text, sizeof(text));
	if (ask(text, &err) != 0)
		fail_msg("honest checkpoint refused: %s", err.msg);
}

/* Tiles rewritten after the keeper signed: the old root no longer holds. */
static void
refuses_rewritten_history(void **state)
{
	struct pal_err err = { 0 };
	uint64_t size;
	uint8_t root[32];
	char path[4200], text[1024];
	FILE *f;

	(void)state;
	published(&size, root);
	/*
	 * The root of 305 leaves is read from the level-1 tile, whose one
	 * hash covers the first 256 leaves: a rewrite of that history.
	 * (Level-0 damage under it is what `log verify` finds.)
	 */
	snprintf(path, sizeof(path), "%s/tile/1/000.p/1", dir);
	f = fopen(path, "r+");
	assert_non_null(f);
	fseek(f, 3, SEEK_SET);
	fputc(0x55, f);
	fclose(f);
	checkpoint_text(size, root, ORIGIN, NULL, text, sizeof(text));
	assert_int_equal(ask(text, &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "do not hash"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(signs_honest_growth),
		cmocka_unit_test(refuses_forgeries),
		cmocka_unit_test(refuses_rewritten_history),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
