/*
 * seccomp_bpf.c - writes seccomp_bpf.h, the sandbox's seccomp programs
 * for a profile that allows no more calls, at build time.
 *
 *   seccomp_bpf OUTPUT
 *
 * The programs are what libseccomp makes of the rules in
 * src/sandbox/seccomp_rules.c, with the very same functions, for the
 * architecture this runs on (so it must run where Palisade is built for:
 * no cross-compiling).  palisade run then loads them as they are instead
 * of compiling them at every start (src/sandbox/seccomp_run.c).  The
 * output is written beside and renamed into place: never half-written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <seccomp.h>

#include "sandbox_int.h"

static int
put_program(FILE *fp, const char *name, const struct sock_fprog *p)
{
	fprintf(fp, "static const struct sock_filter %s[%u] = {\n", name,
		(unsigned)p->len);
	for (unsigned i = 0; i < p->len; i++)
		fprintf(fp, "\t{ 0x%04x, %u, %u, 0x%08x },\n",
			(unsigned)p->filter[i].code, (unsigned)p->filter[i].jt,
			(unsigned)p->filter[i].jf, (unsigned)p->filter[i].k);
	return fprintf(fp, "};\n") < 0 ? -1 : 0;
}

static int
write_header(const char *path, const struct sock_fprog *m,
	     const struct sock_fprog *a)
{
	const struct scmp_version *v = seccomp_version();
	char tmp[4096];
	FILE *fp;
	int rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		fprintf(stderr, "seccomp_bpf: %s: name too long\n", path);
		return -1;
	}
	if ((fp = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "seccomp_bpf: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	fprintf(fp, "/*\n * seccomp_bpf.h - made by tools/seccomp_bpf.c from "
		"src/sandbox/seccomp_rules.c\n * with libseccomp %u.%u.%u: "
		"do not edit.\n */\n", v->major, v->minor, v->micro);
	if (put_program(fp, "sbx_bpf_main", m) != 0 ||
	    put_program(fp, "sbx_bpf_args", a) != 0)
		rc = -1;
	if (fclose(fp) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc != 0) {
		fprintf(stderr, "seccomp_bpf: %s: %s\n", path, strerror(errno));
		remove(tmp);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	struct sock_fprog m, a;
	struct pal_err err;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: seccomp_bpf OUTPUT\n");
		return 2;
	}
	pal_err_clear(&err);
	if (sbx_seccomp_compile(NULL, 0, &m, &a, &err) != 0) {
		fprintf(stderr, "seccomp_bpf: %s\n", err.msg);
		return 1;
	}
	rc = write_header(argv[1], &m, &a);
	free(m.filter);
	free(a.filter);
	return rc == 0 ? 0 : 1;
}
