/*
 * fuzz_up_config.c - palisade up's configuration reader
 * (src/cli/up_config.c), compiled in from the command line's sources,
 * which are not part of the library.  Whatever the bytes: a parse fails
 * with err set to its code and, unless memory ran out, a message naming
 * the file, and no configuration; or it yields one that keeps every
 * promise of up.h: the required keys set, one of key and trust_policy,
 * source only with a policy, 1 to UP_APPROVALS_MAX approvals, a command
 * of 1 to UP_ARGS_MAX words that all check, a state directory.  Its
 * command then expands, for a release that holds every file it names,
 * into words without a placeholder left: only the '{' of each "{{".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/cli/up_config.c"

#define NAME "fuzz.yaml"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every {file:NAME} of the command, as a file at descriptor 7. */
static size_t
files_named(const struct up_config *c, struct up_file *f, char **names,
	    size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < c->server.n_command; i++) {
		for (const char *p = c->server.command[i]; *p != '\0'; p++) {
			const char *end;

			if (p[0] == '{' && p[1] == '{') {
				p++;
				continue;
			}
			if (strncmp(p, "{file:", 6) != 0 || n == max)
				continue;
			end = strchr(p, '}');
			names[n] = strndup(p + 6, (size_t)(end - p - 6));
			if (names[n] == NULL)
				abort();
			f[n].path = names[n];
			f[n].fd = 7;
			n++;
			p = end;
		}
	}
	return n;
}

/*
 * The '{' an expanded word must hold: one per "{{"; a placeholder leaves
 * none (a descriptor's number and /proc/self/fd/N have no brace).
 */
static size_t
braces_wanted(const char *w)
{
	size_t n = 0;

	for (const char *p = w; *p != '\0'; p++) {
		if (p[0] == '{' && p[1] == '{') {
			n++;
			p++;
		} else if (p[0] == '{') {
			p = strchr(p, '}');
		}
	}
	return n;
}

static size_t
braces(const char *w)
{
	size_t n = 0;

	for (; *w != '\0'; w++)
		n += *w == '{';
	return n;
}

static void
check_expansion(const struct up_config *c)
{
	struct up_file f[UP_ARGS_MAX] = { 0 };
	char *names[UP_ARGS_MAX], **argv = NULL;
	struct pal_err err;
	size_t n = files_named(c, f, names, UP_ARGS_MAX);

	pal_err_clear(&err);
	if (up_command_expand(c, f, n, 3, &argv, &err) != 0) {
		if (err.code != PAL_ERR_NOMEM && n == UP_ARGS_MAX)
			goto out;	/* more files than the table holds */
		abort();
	}
	for (size_t i = 0; i < c->server.n_command; i++)
		if (argv[i] == NULL ||
		    braces(argv[i]) != braces_wanted(c->server.command[i]))
			abort();
	if (argv[c->server.n_command] != NULL)
		abort();
out:
	up_argv_free(argv);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
}

static void
check(const struct up_config *c)
{
	char why[256];

	if (strcmp(c->name, NAME) != 0 || c->model.vault == NULL ||
	    c->model.release == NULL || c->model.signature == NULL ||
	    (c->model.key == NULL) == (c->model.trust_policy == NULL) ||
	    (c->model.source != NULL && c->model.trust_policy == NULL) ||
	    c->model.n_approvals < 1 ||
	    c->model.n_approvals > UP_APPROVALS_MAX ||
	    c->server.n_command < 1 || c->server.n_command > UP_ARGS_MAX ||
	    c->state == NULL)
		abort();
	for (size_t i = 0; i < c->model.n_approvals; i++)
		if (c->model.approvals[i] == NULL)
			abort();
	for (size_t i = 0; i < c->server.n_command; i++)
		if (up_arg_check(c->server.command[i], why, sizeof(why)) != 0)
			abort();
	if (strchr(c->server.command[0], '{') != NULL)
		abort();
	check_expansion(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct up_config *c = (struct up_config *)&size;
	struct pal_err err;
	int rc;

	pal_err_clear(&err);
	rc = up_config_parse(data, size, NAME, NULL, &c, &err);
	if (rc != 0) {
		if (c != NULL || err.code != rc ||
		    (rc != PAL_ERR_NOMEM &&
		     strncmp(err.msg, NAME ":", strlen(NAME ":")) != 0))
			abort();
		return 0;
	}
	if (c == NULL)
		abort();
	check(c);
	up_config_free(c);
	return 0;
}
