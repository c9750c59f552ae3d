/*
 * scan.h - the model scanner: decides each file's format from its content,
 * parses it under hard limits, and reports findings.
 *
 * A scan session (struct pal_scan) is given paths; it walks directories,
 * maps each regular file, and scans it and everything nested inside it
 * (archive members, compressed streams, pickles inside NumPy files).  The
 * session collects one result per scanned item and the findings.  Nothing
 * in the input is ever executed.
 *
 * Exit semantics (pal_scan_exit_code): 0 clean, 1 at least one finding
 * (a finding outranks every error), 2 could not scan something.
 */
#ifndef PALISADE_SCAN_H
#define PALISADE_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "palisade/error.h"

enum pal_severity {
	PAL_SEV_INFO = 0,
	PAL_SEV_LOW,
	PAL_SEV_MEDIUM,
	PAL_SEV_HIGH,
	PAL_SEV_CRITICAL,
};

/* "info", "low", "medium", "high", "critical". */
const char *pal_severity_name(enum pal_severity sev);

/* Hard caps; a hostile file that reaches one ends in an error or finding. */
struct pal_scan_limits {
	uint64_t max_file_size;		/* a file on disk */
	uint64_t max_expanded;		/* decompressed bytes per top-level file */
	uint32_t max_ratio;		/* decompressed / compressed, per stream */
	uint32_t max_depth;		/* nesting of containers */
	uint32_t max_members;		/* entries in one archive */
	uint64_t max_opcodes;		/* per pickle stream */
	uint32_t max_stack;		/* pickle stack and mark depth */
	uint32_t max_memo;		/* pickle memo entries */
	uint32_t max_findings;		/* per scanned item; more are counted */
	uint32_t max_files;		/* files visited by a directory walk */
};

void pal_scan_limits_default(struct pal_scan_limits *l);

/*
 * The allowlist of Python globals a pickle may name, built from curated
 * profiles and extended by an organization's policy file (docs/policy.md).
 */
struct pal_policy;

/* The built-in allowlist. Caller frees with pal_policy_free. */
int pal_policy_new_default(struct pal_policy **out, struct pal_err *err);

/* Adds a policy file's rules to p. On failure p is unchanged. */
int pal_policy_load_file(struct pal_policy *p, const char *path,
    struct pal_err *err);

void pal_policy_free(struct pal_policy *p);

enum pal_global_verdict {
	PAL_GLOBAL_ALLOWED = 0,	/* on the allowlist */
	PAL_GLOBAL_UNKNOWN,	/* not on the allowlist: fails the scan */
	PAL_GLOBAL_DANGEROUS,	/* a known-dangerous callable or module */
};

/*
 * Judges the global module/name as pickle's find_class would resolve it
 * (dotted names walk attributes; protocol < 3 names are mapped as
 * _compat_pickle maps them).  *why is set to a static explanation for
 * UNKNOWN and DANGEROUS verdicts.
 */
enum pal_global_verdict pal_policy_judge(const struct pal_policy *p,
    const char *module, size_t module_len, const char *name, size_t name_len,
    const char **why);

enum pal_scan_flags {
	PAL_SCAN_FOLLOW_SYMLINKS = 1 << 0,	/* default: report, do not follow */
	PAL_SCAN_STRICT = 1 << 1,		/* unrecognized files are errors */
	PAL_SCAN_SANDBOX = 1 << 2,		/* seccomp once inputs are open */
};

struct pal_scan_opts {
	struct pal_scan_limits limits;
	const struct pal_policy *policy;	/* not owned; required */
	unsigned flags;
};

enum pal_item_status {
	PAL_ITEM_CLEAN = 0,
	PAL_ITEM_FINDINGS,
	PAL_ITEM_ERROR,		/* could not be scanned completely */
	PAL_ITEM_SKIPPED,	/* not a model format; nothing to scan */
};

/* One scanned item: a file, or something nested in one. */
struct pal_scan_result {
	char *name;		/* "dir/model.pt" or "dir/model.pt!archive/data.pkl" */
	const char *format;	/* static format name, "unknown" if none */
	enum pal_item_status status;
	char *detail;		/* error or skip reason, or NULL */
	unsigned depth;
	size_t nfindings;
	size_t dropped;		/* findings beyond limits.max_findings */
};

struct pal_finding {
	char *name;		/* item name, as in pal_scan_result */
	char *location;		/* "offset 1234", "tensor 'w'", ... */
	const char *rule;	/* stable rule id, e.g. "pickle.dangerous-global" */
	enum pal_severity severity;
	char *reason;
};

struct pal_rule {
	const char *id;
	enum pal_severity severity;
	const char *summary;	/* one sentence for SARIF and docs */
};

struct pal_scan;

/* Caller frees with pal_scan_free. opts->policy must outlive the session. */
int pal_scan_new(const struct pal_scan_opts *opts, struct pal_scan **out,
    struct pal_err *err);
void pal_scan_free(struct pal_scan *s);

/*
 * Adds a file or directory (walked recursively) to the scan: every regular
 * file found is opened now, so that pal_scan_run can drop the right to open
 * anything.  Unreadable paths are recorded as errors in the results.
 * A negative return means the session itself failed (out of memory).
 */
int pal_scan_add(struct pal_scan *s, const char *path);

/*
 * Adds an open regular file (fd is duplicated; the caller keeps its own)
 * under a display name, as a directory walk would have found it: a file
 * that is not a model format is skipped, not an error.  For files that
 * have no path, such as a release unsealed into memfds.  A negative
 * return means the session itself failed.
 */
int pal_scan_add_fd(struct pal_scan *s, const char *name, int fd);

/*
 * Scans everything added.  With PAL_SCAN_SANDBOX the process first
 * confines itself (seccomp; see sandbox.h), for good: call this once, last.
 * Returns 0 when the scan ran (per-item errors are in the results), or a
 * negative PAL_ERR_* when the session could not go on.
 */
int pal_scan_run(struct pal_scan *s, struct pal_err *err);

/* Scans bytes already in memory under a display name. */
int pal_scan_memory(struct pal_scan *s, const char *name, const void *data,
    size_t len);

size_t pal_scan_nresults(const struct pal_scan *s);
const struct pal_scan_result *pal_scan_result(const struct pal_scan *s,
    size_t i);
size_t pal_scan_nfindings(const struct pal_scan *s);
const struct pal_finding *pal_scan_finding(const struct pal_scan *s, size_t i);

/* 0 clean, 1 findings, 2 could not scan. */
int pal_scan_exit_code(const struct pal_scan *s);

/* The rule table: every rule any format can report, ending with {NULL}. */
const struct pal_rule *pal_scan_rule(const char *id);
size_t pal_scan_nrules(void);
const struct pal_rule *pal_scan_rule_at(size_t i);

/* Writers; each returns 0 or PAL_ERR_IO / PAL_ERR_NOMEM. */
int pal_scan_write_text(const struct pal_scan *s, FILE *fp);
int pal_scan_write_json(const struct pal_scan *s, FILE *fp);
int pal_scan_write_sarif(const struct pal_scan *s, FILE *fp);

#endif
