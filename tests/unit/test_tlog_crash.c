/*
 * test_tlog_crash.c - the log never loses an acknowledged entry.
 *
 * A child appends from four threads and publishes now and then, writing
 * "index sequence" to a pipe after each acknowledged append.  The parent
 * kills it with SIGKILL at a random moment, hundreds of times; after each
 * kill the log must open (finishing any interrupted publication), verify
 * from scratch, and hold every acknowledged entry with its exact content.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "palisade/tlog.h"

#define ROUNDS 200
#define THREADS 4

static char dir[4096];
static int report_fd;
static pthread_mutex_t report_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned seq_next;

static void
entry_text(unsigned seq, char *out, size_t n)
{
	snprintf(out, n, "{\"type\":\"crash-test\",\"seq\":%u,\"pad\":\"%0*u\"}",
		 seq, (int)(seq % 200), 0);
}

static void *
appender(void *arg)
{
	struct pal_log *l = arg;
	for (;;) {
		pthread_mutex_lock(&report_mu);
		unsigned seq = seq_next++;
		pthread_mutex_unlock(&report_mu);
		char e[512], line[64];
		entry_text(seq, e, sizeof(e));
		uint64_t index;
		struct pal_err err = { 0 };
		if (pal_log_append(l, (const uint8_t *)e, strlen(e), &index,
				   &err) < 0)
			_exit(3);
		int n = snprintf(line, sizeof(line), "%llu %u\n",
				 (unsigned long long)index, seq);
		pthread_mutex_lock(&report_mu);
		if (write(report_fd, line, (size_t)n) != n)
			_exit(4);
		pthread_mutex_unlock(&report_mu);
		if (seq % 37 == 0 && pal_log_publish(l, &err) < 0)
			_exit(5);
	}
	return NULL;
}

static void
child(unsigned start_seq)
{
	struct pal_log *l = NULL;
	struct pal_err err = { 0 };
	seq_next = start_seq;
	if (pal_log_open_dir(dir, &l, &err) < 0) {
		fprintf(stderr, "child open: %s\n", err.msg);
		_exit(2);
	}
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, appender, l);
	for (;;)
		pause();
}

struct acked {
	uint64_t *index;
	unsigned *seq;
	size_t n, cap;
};

static void
read_reports(int fd, struct acked *a)
{
	static char buf[1 << 16];
	static size_t have;
	ssize_t n;
	while ((n = read(fd, buf + have, sizeof(buf) - have - 1)) > 0) {
		have += (size_t)n;
		buf[have] = '\0';
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n')) != NULL) {
			unsigned long long idx;
			unsigned seq;
			char *end;
			idx = strtoull(line, &end, 10);
			seq = (unsigned)strtoul(end, NULL, 10);
			if (a->n == a->cap) {
				a->cap = a->cap ? a->cap * 2 : 1024;
				a->index = realloc(a->index,
						   a->cap * sizeof(*a->index));
				a->seq = realloc(a->seq,
						 a->cap * sizeof(*a->seq));
				assert_non_null(a->index);
				assert_non_null(a->seq);
			}
			a->index[a->n] = idx;
			a->seq[a->n++] = seq;
			line = nl + 1;
		}
		have = (size_t)(buf + have - line);
		memmove(buf, line, have);
	}
}

static void
check_log(const struct acked *a)
{
	struct pal_err err = { 0 };
	struct pal_log *l = NULL;
	/* Opening finishes whatever the kill interrupted. */
	if (pal_log_open_dir(dir, &l, &err) < 0)
		fail_msg("open after kill: %s", err.msg);
	assert_int_equal(pal_log_close(l, &err), 0);
	struct pal_log_verify_report r;
	if (pal_log_verify(dir, NULL, &r, &err) < 0)
		fail_msg("verify after kill: %s", err.msg);
	for (size_t i = 0; i < a->n; i++) {
		uint8_t *data = NULL;
		size_t len = 0;
		char want[512];
		entry_text(a->seq[i], want, sizeof(want));
		if (pal_log_get(dir, a->index[i], &data, &len, &err) < 0)
			fail_msg("acknowledged entry %llu lost: %s",
				 (unsigned long long)a->index[i], err.msg);
		if (len != strlen(want) || memcmp(data, want, len) != 0)
			fail_msg("entry %llu holds something else",
				 (unsigned long long)a->index[i]);
		free(data);
	}
}

static void
kill_at_random_moments(void **state)
{
	(void)state;
	const char *tmp = getenv("PAL_TEST_TMP");
	snprintf(dir, sizeof(dir), "%s/tlog-crash.%ld", tmp ? tmp : "/tmp",
		 (long)getpid());
	mkdir(tmp ? tmp : "/tmp", 0755);
	struct pal_err err = { 0 };
	if (pal_log_init(dir, "palisade.test/crash", NULL, &err) < 0)
		fail_msg("init: %s", err.msg);
	srand((unsigned)time(NULL));
	struct acked a = { 0 };
	unsigned seq = 0;
	for (int round = 0; round < ROUNDS; round++) {
		int p[2];
		assert_int_equal(pipe(p), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			report_fd = p[1];
			child(seq);
		}
		close(p[1]);
		/* 2 to 20 ms: into appends, publications and preallocation. */
		struct timespec ts = { 0, (long)(2 + rand() % 19) * 1000000L };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		size_t before = a.n;
		read_reports(p[0], &a);
		close(p[0]);
		if (!WIFSIGNALED(status))
			fail_msg("child exited early with %d",
				 WEXITSTATUS(status));
		/* Next child's sequence numbers never repeat. */
		for (size_t i = before; i < a.n; i++)
			if (a.seq[i] + 1 > seq)
				seq = a.seq[i] + 1;
		seq += 1000;
		check_log(&a);
	}
	print_message("%d kills, %zu acknowledged entries, all present\n",
		      ROUNDS, a.n);
	size_t acked = a.n;
	free(a.index);
	free(a.seq);
	assert_true(acked > (size_t)ROUNDS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kill_at_random_moments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
