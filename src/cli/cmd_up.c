/*
 * cmd_up.c - palisade up: the whole path in one command (docs/up.md).
 *
 *	palisade up [--config FILE]
 *	palisade up --print-config
 *
 * The release is unsealed from the vault into sealed memfds (with the
 * approvals the configuration names), those bytes are verified against
 * the model's signature and scanned, the model server is started in the
 * sandbox with them, and the gateway in front of it, in this process.
 * A user key is printed once.  Every step is an entry of the gateway's
 * log.  SIGINT or SIGTERM stops everything and exits 0; a failed step
 * stops whatever was started, says why naming the step, and exits 1
 * (a refusal: approvals, signature, scan) or 2; so does the model
 * server's death, which stops the gateway.
 *
 * Signals are taken by one thread (sigwait), not by handlers: SIGINT,
 * SIGTERM and SIGCHLD are blocked in every thread from the start, so
 * that every thread this process makes inherits that, and the gateway's
 * own handlers for them never run.  SIGHUP still reloads the gateway.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "palisade/gateway.h"
#include "palisade/gwconfig.h"
#include "up.h"

enum { OPT_CONFIG = 1, OPT_PRINT, OPT_HELP };

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: palisade up [--config FILE]\n"
		"       palisade up --print-config\n\n"
		"Unseals the configured release from its vault into memory "
		"(with the\nconfigured approvals), verifies those bytes "
		"against the model's signature,\nscans them, starts the model "
		"server confined with them, and the gateway in\nfront of it "
		"(https://127.0.0.1:8443 on the built-in configuration); "
		"prints a\nuser key once; logs every step in the gateway's "
		"log.  SIGINT or SIGTERM\nstops everything (docs/up.md).\n\n"
		"  --config FILE    the configuration (default ./%s)\n"
		"  --print-config   print a commented configuration to start "
		"from\n", UP_CONFIG_DEFAULT);
}

/* ---- the supervising thread ---- */

struct supervisor {
	struct up *u;
	pthread_t tid;
	pthread_mutex_t mu;
	struct pal_gw_server *g;	/* while the gateway runs */
	int done;
	atomic_int server_ended;	/* the model server died under it */
	atomic_int keeper_ended;
};

static int
child_ended(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return pid > 0 && waitid(P_PID, (id_t)pid, &si,
				 WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       si.si_pid != 0;
}

/*
 * With s->mu held: stops the gateway when its model server (or the log's
 * keeper) has died.  Only while the gateway runs: before and after, the
 * main thread watches and reaps the server itself.
 */
static void
check_children(struct supervisor *s)
{
	if (s->g == NULL)
		return;
	if (up_server_ended(s->u))
		atomic_store(&s->server_ended, 1);
	if (child_ended(s->u->keeper))
		atomic_store(&s->keeper_ended, 1);
	if (atomic_load(&s->server_ended) || atomic_load(&s->keeper_ended))
		pal_gw_server_stop(s->g);
}

static void *
supervise(void *arg)
{
	struct supervisor *s = arg;
	sigset_t set;
	int sig, done = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	while (!done) {
		if (sigwait(&set, &sig) != 0)
			continue;
		pthread_mutex_lock(&s->mu);
		if (sig == SIGINT || sig == SIGTERM) {
			atomic_store(&s->u->stop_signal, sig);
			if (s->g != NULL)
				pal_gw_server_stop(s->g);
		} else {
			check_children(s);
		}
		done = s->done;
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

static void
supervise_gateway(struct supervisor *s, struct pal_gw_server *g)
{
	pthread_mutex_lock(&s->mu);
	s->g = g;
	/* What happened before it was there. */
	if (g != NULL) {
		check_children(s);
		if (atomic_load(&s->u->stop_signal) != 0)
			pal_gw_server_stop(g);
	}
	pthread_mutex_unlock(&s->mu);
}

/* Ends the thread: SIGCHLD is in its set, and done is read after it. */
static void
supervise_end(struct supervisor *s)
{
	pthread_mutex_lock(&s->mu);
	s->done = 1;
	s->g = NULL;
	pthread_mutex_unlock(&s->mu);
	pthread_kill(s->tid, SIGCHLD);
	pthread_join(s->tid, NULL);
}

/* ---- steps ---- */

static const char *
signame(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" :
		"a signal";
}

static int
exit_code(int rc)
{
	return rc == PAL_ERR_VERIFY ? CLI_FINDING : CLI_ERROR;
}

static void
say_failed(const char *step, const struct pal_err *e)
{
	fprintf(stderr, "palisade up: %s failed: ", step);
	cli_put_safe(stderr, e->msg[0] ? e->msg : pal_strerror(e->code));
	fputc('\n', stderr);
}

/* The failed step's entry, when the log can be written. */
static void
log_failure(struct up *u, const char *step, const struct pal_err *why)
{
	struct pal_err e = { 0 };
	char type[32];

	if (u->keeper < 0)
		return;
	snprintf(type, sizeof(type), "up.%s", step);
	if (up_log(u, type, NULL, json_pack("{s:b, s:s}", "ok", 0, "error",
					    why->msg), &e) < 0)
		say_failed("log", &e);
}

static void
log_stop(struct up *u, const char *how, const char *step, int server)
{
	struct pal_err e = { 0 };

	if (u->keeper < 0)
		return;
	if (up_log(u, "up.stop", NULL, json_pack("{s:s, s:s*, s:i}", "how",
						 how, "failed_step", step,
						 "server_status", server),
		   &e) < 0)
		say_failed("log", &e);
}

/* Prints what a user needs, once: the key is not kept anywhere. */
static void
announce(struct up *u)
{
	printf("url: https://%s\nca: %s\nkey: %s\n",
	       u->gw->listen.address.text, u->gw->listen.tls.cert, u->token);
	fflush(stdout);
	OPENSSL_cleanse(u->token, sizeof(u->token));
	fprintf(stderr, "palisade up: serving release %s on https://%s "
		"(trust %s); the key above (id %s, role default) is shown "
		"only once; Ctrl-C stops\n", u->cfg->model.release,
		u->gw->listen.address.text, u->gw->listen.tls.cert,
		u->key_id);
}

static json_t *
serve_details(const struct up *u)
{
	return json_pack("{s:b, s:s, s:s, s:s, s:s}", "ok", 1, "listen",
			 u->gw->listen.address.text, "config",
			 u->cfg->gateway.config ? u->cfg->gateway.config :
			 "built-in", "upstream", u->upstream, "key_id",
			 u->key_id);
}

/* Serves until a signal, the model server's death or an error. */
static int
serve(struct up *u, struct supervisor *s, const char **step,
      struct pal_err *e)
{
	struct pal_gw_server *g = NULL;
	int rc;

	*step = "serve";
	rc = up_key_create(u, e);
	if (rc == 0)
		rc = up_log(u, "up.serve", NULL, serve_details(u), e);
	if (rc == 0)
		rc = up_gateway_new(u, &g, e);
	if (rc < 0) {
		up_key_revoke(u);
		return rc;
	}
	announce(u);
	supervise_gateway(s, g);
	rc = pal_gw_server_run(g, e);
	supervise_gateway(s, NULL);
	pal_gw_server_free(g);
	return rc;
}

static int
start(struct up *u, struct supervisor *s, const char **step,
      struct pal_err *e)
{
	static const struct {
		const char *name;
		int (*fn)(struct up *, struct pal_err *);
	} steps[] = {
		{ "unseal", up_unseal },
		{ "verify", up_verify },
		{ "scan", up_scan },
		{ "run", up_server_start },
	};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int rc;

		*step = steps[i].name;
		if (atomic_load(&u->stop_signal) != 0)
			return 0;
		if ((rc = steps[i].fn(u, e)) < 0)
			return rc;
	}
	if (atomic_load(&u->stop_signal) != 0)
		return 0;
	return serve(u, s, step, e);
}

/* How the run ended, for the log and the exit status. */
static int
finish(struct up *u, struct supervisor *s, int rc, const char *step,
       const struct pal_err *e)
{
	int sig = atomic_load(&u->stop_signal), server, code = CLI_OK;
	int died = atomic_load(&s->server_ended) || up_server_ended(u);
	char how[128];

	if (rc < 0 && sig != 0 && strcmp(step, "run") == 0 && !died)
		rc = 0;		/* interrupted while waiting for it */
	if (rc < 0) {
		say_failed(step, e);
		if (strcmp(step, "run") == 0 && u->server_out != NULL)
			fprintf(stderr, "palisade up: the model server's "
				"output (%s) ends:\n%s\n", u->server_out,
				up_server_tail(u));
		log_failure(u, step, e);
	}
	server = up_server_stop(u);
	if (rc < 0) {
		snprintf(how, sizeof(how), "failed");
		code = exit_code(rc);
	} else if (sig != 0) {
		snprintf(how, sizeof(how), "%s", signame(sig));
	} else if (died) {
		snprintf(how, sizeof(how), "the model server exited with "
			 "status %d", server);
		fprintf(stderr, "palisade up: %s; the gateway stopped. Its "
			"output (%s) ends:\n%s\n", how, u->server_out,
			up_server_tail(u));
		step = "run";
		code = CLI_ERROR;
	} else {
		snprintf(how, sizeof(how), "%s",
			 atomic_load(&s->keeper_ended) ? "the log's key keeper "
			 "ended" : "the gateway stopped by itself");
		fprintf(stderr, "palisade up: %s\n", how);
		step = "serve";
		code = CLI_ERROR;
	}
	log_stop(u, how, rc < 0 || code != CLI_OK ? step : NULL, server);
	fprintf(stderr, "palisade up: stopped (%s)\n", how);
	return code;
}

static int
run(const struct up_config *cfg)
{
	struct up u;
	struct supervisor s;
	struct pal_err e = { 0 };
	const char *step = "serve";
	int rc, code;

	memset(&u, 0, sizeof(u));
	memset(&s, 0, sizeof(s));
	u.cfg = cfg;
	u.keeper = u.server = -1;
	u.keeper_fd = -1;
	s.u = &u;
	pthread_mutex_init(&s.mu, NULL);
	/* The keeper is forked before this process has other threads. */
	rc = up_gateway_prepare(&u, &e);
	if (rc == 0 && (rc = pthread_create(&s.tid, NULL, supervise, &s)) != 0)
		rc = pal_err_set(&e, PAL_ERR_SYSTEM, "pthread_create: %s",
				 strerror(rc));
	if (rc < 0) {
		say_failed("serve", &e);
		code = exit_code(rc);
	} else {
		rc = start(&u, &s, &step, &e);
		code = finish(&u, &s, rc, step, &e);
		supervise_end(&s);
	}
	up_keeper_stop(&u);
	pal_unsealed_free(&u.model);
	pal_gw_config_free(u.gw);
	OPENSSL_cleanse(u.token, sizeof(u.token));
	free(u.server_out);
	free(u.state);
	pthread_mutex_destroy(&s.mu);
	return code;
}

int
cmd_up(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "print-config", no_argument, NULL, OPT_PRINT },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = UP_CONFIG_DEFAULT;
	struct up_config *cfg = NULL;
	struct pal_err e = { 0 };
	sigset_t set;
	int c, print = 0, code;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG: path = optarg; break;
		case OPT_PRINT: print = 1; break;
		case 'h': case OPT_HELP: usage(stdout); return CLI_OK;
		default: usage(stderr); return CLI_ERROR;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return CLI_ERROR;
	}
	if (print) {
		fputs(up_config_template, stdout);
		return CLI_OK;
	}
	if (up_config_load(path, &cfg, &e) < 0) {
		fputs("palisade up: ", stderr);
		cli_put_safe(stderr, e.msg);
		fputc('\n', stderr);
		if (e.code == PAL_ERR_IO && access(path, F_OK) != 0)
			fprintf(stderr, "palisade up: 'palisade up "
				"--print-config > %s' writes one to start "
				"from\n", path);
		return CLI_ERROR;
	}
	/*
	 * This process will hold data keys and plaintext weights: no core
	 * dumps, no ptrace by other processes of the same user.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		fprintf(stderr, "palisade up: cannot disable core dumps: %s\n",
			strerror(errno));
		up_config_free(cfg);
		return CLI_ERROR;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	code = run(cfg);
	up_config_free(cfg);
	return code;
}
