/*
 * tlog_append - durable appends per second to the transparency log.
 *
 *	tlog_append DIR [SECONDS [APPENDERS...]]
 *
 * For 1, 16 and 256 concurrent appenders (or the counts given; threads
 * of one process), each appending 1 KiB entries as fast as it can for
 * SECONDS (default 10), the number of entries acknowledged (durable:
 * journaled and fdatasync'd) per second.  The baseline, measured in the same run on the same disk: one
 * thread writing 1 KiB records to a file with write+fdatasync each, the
 * rate a log that syncs every entry could reach.  Entries are published
 * into tiles every 65,536 appends by a separate thread, as a running
 * service would, so publication cost is included.  The log is
 * DIR/tlog-append, kept between runs (see main).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "palisade/tlog.h"

static atomic_ullong done;
static atomic_int stop;
static struct pal_log *lg;

static double
now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *
appender(void *arg)
{
	uint8_t e[1024];
	pthread_setname_np(pthread_self(), "appender");
	memset(e, 'a' + (int)(uintptr_t)arg % 26, sizeof(e));
	while (!atomic_load(&stop)) {
		uint64_t idx;
		struct pal_err err = { 0 };
		if (pal_log_append(lg, e, sizeof(e), &idx, &err) < 0) {
			fprintf(stderr, "append: %s\n", err.msg);
			exit(2);
		}
		atomic_fetch_add(&done, 1);
	}
	return NULL;
}

static void *
publisher(void *arg)
{
	(void)arg;
	unsigned long long last = 0;
	pthread_setname_np(pthread_self(), "publisher");
	while (!atomic_load(&stop)) {
		usleep(20000);
		unsigned long long d = atomic_load(&done);
		if (d - last < 65536)
			continue;
		struct pal_err err = { 0 };
		if (pal_log_publish(lg, &err) < 0) {
			fprintf(stderr, "publish: %s\n", err.msg);
			exit(2);
		}
		last = d;
	}
	return NULL;
}

static double
run(int threads, double secs)
{
	pthread_t *t = calloc((size_t)threads + 1, sizeof(*t));
	atomic_store(&done, 0);
	atomic_store(&stop, 0);
	double t0 = now();
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, appender, (void *)(uintptr_t)i);
	pthread_create(&t[threads], NULL, publisher, NULL);
	usleep((useconds_t)(secs * 1e6));
	atomic_store(&stop, 1);
	for (int i = 0; i <= threads; i++)
		pthread_join(t[i], NULL);
	double el = now() - t0;
	free(t);
	return (double)atomic_load(&done) / el;
}

static double
baseline(const char *dir, double secs)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/baseline.dat", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		perror(path);
		exit(2);
	}
	uint8_t rec[1024];
	memset(rec, 'b', sizeof(rec));
	unsigned long n = 0;
	double t0 = now(), el;
	while ((el = now() - t0) < secs) {
		if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec) ||
		    fdatasync(fd) != 0) {
			perror("baseline");
			exit(2);
		}
		n++;
	}
	close(fd);
	unlink(path);
	return (double)n / el;
}

/*
 * The kept log grows by about 1.6 GB per run; past LOG_KEEP_MAX entries
 * it is removed, after the measurement, and the next run starts a new
 * one (a run soon after may then measure ext4's scan past the deleted
 * inodes, see main).
 */
#define LOG_KEEP_MAX 8000000ULL

static int
prune(const char *logdir)
{
	struct pal_log *l = NULL;
	struct pal_err err = { 0 };
	if (pal_log_open_dir(logdir, &l, &err) < 0) {
		fprintf(stderr, "%s: %s\n", logdir, err.msg);
		return 2;
	}
	unsigned long long n = pal_log_published_size(l);
	pal_log_close(l, NULL);
	if (n <= LOG_KEEP_MAX)
		return 0;
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", logdir);
	printf("%s held %llu entries: removed; a run within the next half "
	       "hour may be slower (bench/README.md)\n", logdir, n);
	return system(cmd) == 0 ? 0 : 2;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: tlog_append DIR [SECONDS "
			"[APPENDERS...]]\n");
		return 2;
	}
	const char *dir = argv[1];
	char *end = NULL;
	double secs = argc > 2 ? strtod(argv[2], &end) : 10.0;
	if (argc > 2 && (*end != '\0' || !(secs > 0 && secs < 3600))) {
		fprintf(stderr, "%s: seconds, more than 0\n", argv[2]);
		return 2;
	}
	int ns[16] = { 1, 16, 256 }, nn = 3;
	if (argc > 3)
		nn = 0;
	for (int a = 3; a < argc && nn < 16; a++) {
		long v = strtol(argv[a], &end, 10);
		if (*end != '\0' || v < 1 || v > 4096) {
			fprintf(stderr, "%s: 1 to 4096 appenders\n", argv[a]);
			return 2;
		}
		ns[nn++] = (int)v;
	}
	/*
	 * One log, DIR/tlog-append, kept and appended to by every run, as a
	 * log in service grows.  Deleting a run's log (hundreds of thousands
	 * of files) would make the next run measure the deletion instead: on
	 * an ext4 without a journal, as on the machine these figures come
	 * from, each new inode is allocated only after a scan past every
	 * recently deleted one in its block group (the kernel's
	 * recently_deleted()), and the publisher creates two files per 256
	 * entries.  Remove the directory by hand to reclaim its space.
	 */
	char logdir[4096];
	struct stat st;
	snprintf(logdir, sizeof(logdir), "%s/tlog-append", dir);
	mkdir(dir, 0755);
	struct pal_err err = { 0 };
	if ((stat(logdir, &st) != 0 &&
	     pal_log_init(logdir, "bench.palisade/log", NULL, &err) < 0) ||
	    pal_log_open_dir(logdir, &lg, &err) < 0) {
		fprintf(stderr, "%s: %s\n", logdir, err.msg);
		return 2;
	}
	printf("log %s: %llu entries before this run\n\n", logdir,
	       (unsigned long long)pal_log_durable_size(lg));
	double base = baseline(dir, secs);
	printf("| appenders | durable entries/s | vs write+fdatasync |\n");
	printf("| ---: | ---: | ---: |\n");
	printf("| baseline: 1 KiB write+fdatasync | %.0f | 1.00x |\n", base);
	for (int i = 0; i < nn; i++) {
		double r = run(ns[i], secs);
		printf("| %d | %.0f | %.1fx |\n", ns[i], r, r / base);
		fflush(stdout);
	}
	double t0 = now();
	if (pal_log_close(lg, &err) < 0) {
		fprintf(stderr, "close: %s\n", err.msg);
		return 2;
	}
	printf("\nfinal publication and close: %.2f s\n", now() - t0);
	return prune(logdir);
}
