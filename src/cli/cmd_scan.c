/*
 * cmd_scan.c - palisade scan PATH...
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "palisade/scan.h"
#include "palisade/tlog.h"

enum { OUT_TEXT, OUT_JSON, OUT_SARIF };

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: palisade scan [--json | --sarif] [--policy FILE] "
	    "[--follow-symlinks]\n"
	    "                     [--strict] [--no-sandbox] [--log DIR] PATH...\n"
	    "\n"
	    "Scans model files and directories (recursively) for malicious code.\n"
	    "Formats are recognized from content, never from names.\n"
	    "\n"
	    "  --json              machine-readable report\n"
	    "  --sarif             SARIF 2.1.0 report for CI systems\n"
	    "  --policy FILE       extend the allowlist (see docs/policy.md)\n"
	    "  --follow-symlinks   follow symbolic links (default: skip them)\n"
	    "  --strict            files that are not models are errors\n"
	    "  --no-sandbox        do not confine the scanner with seccomp\n"
	    "  --log DIR           record the verdict in the transparency log DIR\n"
	    "                      (the scan runs in a confined child process)\n"
	    "  --list-rules        print every rule id, severity and summary\n"
	    "\n"
	    "Exit status: 0 clean, 1 findings, 2 could not scan.\n");
}

static void
list_rules(void)
{
	size_t i, n = pal_scan_nrules();

	for (i = 0; i < n; i++) {
		const struct pal_rule *r = pal_scan_rule_at(i);

		printf("%-34s %-8s %s\n", r->id, pal_severity_name(r->severity),
		    r->summary);
	}
}

struct scan_args {
	int out;
	const char *policy;
	const char *log;	/* --log DIR */
	unsigned flags;
};

static int
parse_args(int argc, char **argv, struct scan_args *a)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "sarif", no_argument, NULL, 's' },
		{ "policy", required_argument, NULL, 'p' },
		{ "follow-symlinks", no_argument, NULL, 'L' },
		{ "strict", no_argument, NULL, 'S' },
		{ "no-sandbox", no_argument, NULL, 'n' },
		{ "list-rules", no_argument, NULL, 'R' },
		{ "log", required_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	a->out = OUT_TEXT;
	a->policy = NULL;
	a->log = NULL;
	a->flags = PAL_SCAN_SANDBOX;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j': a->out = OUT_JSON; break;
		case 's': a->out = OUT_SARIF; break;
		case 'p': a->policy = optarg; break;
		case 'L': a->flags |= PAL_SCAN_FOLLOW_SYMLINKS; break;
		case 'S': a->flags |= PAL_SCAN_STRICT; break;
		case 'n': a->flags &= ~(unsigned)PAL_SCAN_SANDBOX; break;
		case 'R': list_rules(); exit(CLI_OK);
		case 'G': a->log = optarg; break;
		case 'h': usage(stdout); exit(CLI_OK);
		default: usage(stderr); return -1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "palisade scan: no PATH given\n");
		usage(stderr);
		return -1;
	}
	return 0;
}

static int
write_report(const struct pal_scan *s, int out)
{
	int r;

	switch (out) {
	case OUT_JSON:	r = pal_scan_write_json(s, stdout); break;
	case OUT_SARIF:	r = pal_scan_write_sarif(s, stdout); break;
	default:	r = pal_scan_write_text(s, stdout); break;
	}
	if (fflush(stdout) != 0 && r == 0)
		r = PAL_ERR_IO;
	return r;
}

/* The scan itself, with the arguments parse_args read. */
static int
scan_main(int argc, char **argv, const struct scan_args *pa)
{
	struct pal_policy *policy = NULL;
	struct pal_scan *s = NULL;
	struct pal_scan_opts opts;
	struct scan_args a;
	struct pal_err err;
	int i, r, rc = CLI_ERROR;

	pal_err_clear(&err);
	a = *pa;
	if ((r = pal_policy_new_default(&policy, &err)) != 0)
		goto fail;
	if (a.policy != NULL &&
	    (r = pal_policy_load_file(policy, a.policy, &err)) != 0)
		goto fail;
	memset(&opts, 0, sizeof(opts));
	pal_scan_limits_default(&opts.limits);
	opts.policy = policy;
	opts.flags = a.flags;
	if ((r = pal_scan_new(&opts, &s, &err)) != 0)
		goto fail;
	for (i = optind; i < argc; i++)
		if ((r = pal_scan_add(s, argv[i])) == PAL_ERR_NOMEM)
			goto fail;
	if ((r = pal_scan_run(s, &err)) != 0)
		goto fail;
	if ((r = write_report(s, a.out)) != 0) {
		pal_err_set(&err, r, "cannot write the report");
		goto fail;
	}
	rc = pal_scan_exit_code(s);
	goto out;
fail:
	fprintf(stderr, "palisade scan: %s\n", err.msg[0] ? err.msg :
	    pal_strerror(r));
out:
	pal_scan_free(s);
	pal_policy_free(policy);
	return rc;
}

/*
 * With --log the scan runs in a child, which confines itself as usual,
 * while this process, which stays unconfined, records the verdict (the
 * child's exit status) in the log: the scanner never holds the log open,
 * and the sandbox lets it write to standard output and error only.
 */
static int
scan_logged(int argc, char **argv, struct scan_args *a)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "palisade scan: fork: %s\n", strerror(errno));
		return CLI_ERROR;
	}
	if (pid == 0) {
		int rc = scan_main(argc, argv, a);
		fflush(stdout);
		_exit(rc);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	int rc = WIFEXITED(status) ? WEXITSTATUS(status) : CLI_ERROR;
	json_t *paths = json_array();
	for (int i = optind; i < argc; i++)
		json_array_append_new(paths, json_string(argv[i]));
	json_t *d = json_pack("{s:o, s:i, s:b}", "paths", paths, "exit", rc,
			      "crashed", !WIFEXITED(status));
	char *dj = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	struct pal_err err = { 0 };
	uint64_t index;
	int lrc = pal_log_record(a->log, rc == 0 ? "model.scan" :
				 rc == 1 ? "model.scan-findings" :
				 "model.scan-error", "cli", NULL, dj, &index,
				 &err);
	free(dj);
	if (lrc < 0) {
		fputs("palisade scan: log: ", stderr);
		cli_put_safe(stderr, err.msg);
		fputc('\n', stderr);
		return rc == CLI_FINDING ? rc : CLI_ERROR;
	}
	fprintf(stderr, "palisade scan: logged as entry %llu of %s\n",
		(unsigned long long)index, a->log);
	return rc;
}

int
cmd_scan(int argc, char **argv)
{
	struct scan_args a;
	if (parse_args(argc, argv, &a) != 0)
		return CLI_ERROR;
	if (a.log != NULL)
		return scan_logged(argc, argv, &a);
	return scan_main(argc, argv, &a);
}
