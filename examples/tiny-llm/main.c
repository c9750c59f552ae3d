/*
 * main.c - tiny-llm-server: a tiny byte-level transformer served over an
 * OpenAI-compatible HTTP API, the reference model server of Palisade's
 * demo and end-to-end tests (it stands where vLLM or llama.cpp's server
 * would).  See README.md beside it.
 *
 * Start-up reads the weights, opens or adopts the listening socket and
 * allocates every worker's state; after that the server opens nothing.
 * SIGTERM and SIGINT stop it cleanly with status 0.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"
#include "model.h"
#include "server.h"

#define PROG "tiny-llm-server"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " --model PATH [--listen ADDR | --listen-fd N] [options]\n"
"\n"
"Serves a tiny byte-level transformer over an OpenAI-compatible API:\n"
"GET /v1/models, POST /v1/completions, POST /v1/chat/completions.\n"
"\n"
"  --model PATH      the weights, safetensors (train.py writes them);\n"
"                    /proc/self/fd/N reads an inherited descriptor\n"
"  --listen ADDR     IP:PORT, [IPv6]:PORT or unix:PATH\n"
"                    (default 127.0.0.1:8000; port 0 picks a free one)\n"
"  --listen-fd N     accept on inherited descriptor N, a listening socket\n"
"  --name NAME       the model's id in the API (default \"tiny\")\n"
"  --threads N       worker threads, 1 to %d (default 2)\n"
"  --quiet           no line per request on standard error\n"
"  --help            this text\n"
"\n"
"Once listening it prints a line ending \"listening on ADDR\" on\n"
"standard output.  SIGTERM or SIGINT stops it, with status 0.\n", TL_MAX_THREADS);
}

struct options {
	const char *model;
	const char *listen;
	int listen_fd;
	const char *name;
	unsigned threads;
	int quiet;
};

/* A whole decimal number from min to max. */
static int
number(const char *opt, const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, PROG ": %s '%s': want a number from %ld to "
			"%ld\n", opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* Returns 0 to run, 1 for --help, -1 for a usage error (reported). */
static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "listen", required_argument, NULL, 'l' },
		{ "listen-fd", required_argument, NULL, 'f' },
		{ "name", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int c;

	*o = (struct options){ .listen_fd = -1, .name = "tiny", .threads = 2 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'n': o->name = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'h': return 1;
		case 'f':
			if (number("--listen-fd", optarg, 0, 1 << 20, &v) != 0)
				return -1;
			o->listen_fd = (int)v;
			break;
		case 't':
			if (number("--threads", optarg, 1, TL_MAX_THREADS,
				   &v) != 0)
				return -1;
			o->threads = (unsigned)v;
			break;
		default:
			fprintf(stderr, PROG ": %s: unknown option or missing "
				"value (see --help)\n", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s' (see "
			"--help)\n", argv[optind]);
		return -1;
	}
	if (o->model == NULL) {
		fprintf(stderr, PROG ": --model PATH is required (see "
			"--help)\n");
		return -1;
	}
	if (o->listen != NULL && o->listen_fd >= 0) {
		fprintf(stderr, PROG ": --listen and --listen-fd exclude each "
			"other\n");
		return -1;
	}
	if (o->name[0] == '\0' || strlen(o->name) > 128) {
		fprintf(stderr, PROG ": --name must be 1 to 128 bytes\n");
		return -1;
	}
	return 0;
}

/* The signals that stop the server, blocked in every thread and taken
 * by sigwait in the main one. */
static void
stop_signals(sigset_t *set)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	/* A shell starts background jobs with SIGINT ignored; blocked and
	 * waited for, it must not be. */
	sigaction(SIGTERM, &dfl, NULL);
	sigaction(SIGINT, &dfl, NULL);
	/* A client that leaves mid-answer makes write fail, not kill us. */
	sigaction(SIGPIPE, &ign, NULL);
}

/* The socket file of a Unix listener this process bound. */
static void
remove_socket(const struct options *o)
{
	if (o->listen != NULL && strncmp(o->listen, "unix:", 5) == 0)
		(void)unlink(o->listen + 5);
}

static int
listen_on(const struct options *o, char *where, size_t cap)
{
	struct tl_err err;
	int fd = o->listen_fd;

	if (fd >= 0) {
		if (tl_listen_adopt(fd, &err) != 0)
			fd = -1;
	} else {
		fd = tl_listen_open(o->listen != NULL ? o->listen :
				    "127.0.0.1:8000", &err);
	}
	if (fd < 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return -1;
	}
	tl_listen_describe(fd, where, cap);
	return fd;
}

int
main(int argc, char **argv)
{
	struct tl_server_opts so;
	struct tl_server *srv;
	struct tl_model *m = NULL;
	struct options o;
	struct tl_err err;
	char where[160];
	sigset_t set;
	int fd, sig = 0, rc;

	if ((rc = parse_options(argc, argv, &o)) != 0) {
		if (rc > 0)
			usage(stdout);
		return rc > 0 ? 0 : 2;
	}
	if (tl_model_load(o.model, &m, &err) != 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return 1;
	}
	stop_signals(&set);
	if ((fd = listen_on(&o, where, sizeof(where))) < 0) {
		tl_model_free(m);
		return 1;
	}
	so = (struct tl_server_opts){ .listen_fd = fd, .threads = o.threads,
		.name = o.name, .quiet = o.quiet };
	if ((srv = tl_server_start(m, &so, &err)) == NULL) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		close(fd);
		remove_socket(&o);
		tl_model_free(m);
		return 1;
	}
	printf(PROG ": model '%s' (%zu parameters, %u layers, context %u), "
	       "%u threads, listening on %s\n", o.name, m->n_params,
	       m->cfg.n_layers, m->cfg.context, o.threads, where);
	fflush(stdout);
	while (sigwait(&set, &sig) != 0)
		;
	fprintf(stderr, PROG ": stopping on %s\n",
		sig == SIGINT ? "SIGINT" : "SIGTERM");
	tl_server_stop(srv);
	close(fd);
	remove_socket(&o);
	tl_model_free(m);
	return 0;
}
