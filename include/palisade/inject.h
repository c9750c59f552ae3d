/*
 * inject.h - prompt-injection rules for `palisade serve` (docs/injection.md).
 *
 * A rules file lists regular expressions, each with an id, a score and the
 * message roles it applies to.  All patterns are compiled once into one
 * Vectorscan database; scanning a request's messages adds up the scores
 * of the distinct rules that matched (each rule counts once per request,
 * however often and in however many messages it matched) and compares
 * the total with the caller's threshold.  What happens above the
 * threshold (refuse or only flag) is the caller's decision: this module
 * only measures.
 *
 * Patterns are matched as UTF-8 (HS_FLAG_UTF8 is always on; \s, \w and \b
 * are ASCII classes, since Vectorscan's Unicode mode has no \b).  Each
 * message is scanned as it is and, when it holds characters that hide or
 * disguise text (Unicode spaces, zero-width and bidi controls, Unicode
 * tag characters, fullwidth ASCII), once more in a folded copy where they
 * are spaces, gone or ASCII; a rule counts once whichever copy it matched.
 *
 * Threads: a struct pal_inject_rules is read-only once built and may be
 * shared by every thread; each thread scans with its own
 * struct pal_inject_scratch (Vectorscan needs scratch space per thread).
 */
#ifndef PALISADE_INJECT_H
#define PALISADE_INJECT_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"

#define PAL_INJECT_FILE_MAX (1 << 20)	/* bytes of a rules file */
#define PAL_INJECT_MAX_RULES 1024	/* rules in a file */
#define PAL_INJECT_ID_MAX 64		/* bytes of a rule id */
#define PAL_INJECT_PATTERN_MAX 2048	/* bytes of a pattern */
#define PAL_INJECT_DESC_MAX 512		/* bytes of a description */
#define PAL_INJECT_SCORE_MAX 1000	/* a rule's score is 0..this */
#define PAL_INJECT_MAX_MATCHES 16	/* rules named in a scan result */
#define PAL_INJECT_TEXT_MAX (64u << 20)	/* bytes of one scanned span */
#define PAL_INJECT_REPEAT_MAX 100	/* largest count of {n,m} */

/* The author of a chat message, as the OpenAI API names them. */
enum pal_inject_role {
	PAL_INJECT_SYSTEM = 0,	/* "system" and "developer" */
	PAL_INJECT_USER,
	PAL_INJECT_ASSISTANT,
	PAL_INJECT_TOOL,	/* "tool" and "function" results */
	PAL_INJECT_ROLES
};

#define PAL_INJECT_ROLE_BIT(r) (1u << (r))
/* A rule that names no roles applies to these. */
#define PAL_INJECT_ROLES_DEFAULT \
	(PAL_INJECT_ROLE_BIT(PAL_INJECT_USER) | \
	 PAL_INJECT_ROLE_BIT(PAL_INJECT_TOOL))

/* Flags a rule may set; UTF-8 matching is always on. */
#define PAL_INJECT_CASELESS 0x1u	/* ASCII letters in either case */
#define PAL_INJECT_DOTALL 0x2u		/* '.' matches a newline too */
#define PAL_INJECT_MULTILINE 0x4u	/* ^ and $ at every line */
/* A rule that lists no flags has these. */
#define PAL_INJECT_FLAGS_DEFAULT PAL_INJECT_CASELESS

/* One rule, owned by its struct pal_inject_rules. */
struct pal_inject_rule {
	const char *id;			/* [a-z0-9._-], unique in the file */
	const char *pattern;		/* as written in the file */
	const char *description;	/* "" when the file gives none */
	unsigned flags;			/* PAL_INJECT_CASELESS | ... */
	uint32_t score;			/* 0..PAL_INJECT_SCORE_MAX */
	uint32_t roles;			/* PAL_INJECT_ROLE_BIT() of each */
	size_t line;			/* 1-based line of the rule's entry */
	size_t pattern_line;		/* and of its pattern */
};

struct pal_inject_rules;
struct pal_inject_scratch;

/*
 * Parses a rules file held in memory (at most PAL_INJECT_FILE_MAX bytes)
 * and compiles its patterns; name (copied) is the file's name in
 * messages.  Errors are PAL_ERR_POLICY with "name:line:column: detail"
 * for anything malformed, including a pattern Vectorscan refuses
 * ("rule 'x': pattern ...: <Vectorscan's reason>"), PAL_ERR_LIMIT for a
 * file too large and PAL_ERR_NOMEM.  *out is the caller's
 * (pal_inject_rules_free).
 *
 * The format (docs/injection.md):
 *
 *	version: 1
 *	rules:
 *	  - id: override.ignore-previous
 *	    pattern: '\bignore\s+(all\s+)?previous\s+instructions\b'
 *	    flags: [caseless]		# caseless, dotall, multiline
 *	    score: 100
 *	    applies_to: [user, tool]	# system, user, assistant, tool
 *	    description: the classic override
 *
 * id, pattern and score are required; flags defaults to [caseless],
 * applies_to to [user, tool]; a list may be empty only for flags.  A
 * counted repeat ({n}, {n,}, {n,m}) may count to PAL_INJECT_REPEAT_MAX at
 * most: beyond, compiling can take minutes.
 */
int pal_inject_rules_parse(const void *yaml, size_t len, const char *name,
			   struct pal_inject_rules **out, struct pal_err *err);

/* As pal_inject_rules_parse, reading the regular file at path. */
int pal_inject_rules_load(const char *path, struct pal_inject_rules **out,
			  struct pal_err *err);

/*
 * The rules shipped with Palisade (tests/data/gateway/injection-rules.yaml,
 * compiled into the library as pal_inject_default_yaml).
 */
int pal_inject_rules_default(struct pal_inject_rules **out,
			     struct pal_err *err);

/* The text of the shipped rules file and its length. */
extern const char pal_inject_default_yaml[];
extern const size_t pal_inject_default_yaml_len;

void pal_inject_rules_free(struct pal_inject_rules *r);

/* The file's name, the number of rules, and rule i (NULL past the end). */
const char *pal_inject_rules_name(const struct pal_inject_rules *r);
size_t pal_inject_rules_count(const struct pal_inject_rules *r);
const struct pal_inject_rule *
pal_inject_rules_get(const struct pal_inject_rules *r, size_t i);

/* The rule with this id, or NULL. */
const struct pal_inject_rule *
pal_inject_rules_find(const struct pal_inject_rules *r, const char *id);

/*
 * Scratch space for one thread's scans, sized for rules.  A scratch may
 * later serve other rules too (a reloaded file) after
 * pal_inject_scratch_fit; it must never be used by two threads at once.
 * *out is the caller's (pal_inject_scratch_free).
 */
int pal_inject_scratch_new(const struct pal_inject_rules *rules,
			   struct pal_inject_scratch **out,
			   struct pal_err *err);

/*
 * Grows s, if needed, so that it can also scan with rules.  Fitting to
 * the rules s was last fitted to costs nothing, so a thread may call this
 * before every scan.
 */
int pal_inject_scratch_fit(struct pal_inject_scratch *s,
			   const struct pal_inject_rules *rules,
			   struct pal_err *err);

void pal_inject_scratch_free(struct pal_inject_scratch *s);

/* A piece of a request to scan: one message's text (not owned). */
struct pal_inject_span {
	enum pal_inject_role role;
	const char *text;	/* UTF-8, not NUL-terminated */
	size_t len;
};

/*
 * What a scan found.  matches lists the first PAL_INJECT_MAX_MATCHES
 * distinct rules that matched, in the order they were found (pointers
 * into the rules, valid as long as they are); n_matched counts them all.
 */
struct pal_inject_result {
	uint64_t score;			/* sum of the matched rules' scores */
	int reached;			/* threshold > 0 and score >= it */
	size_t n_matched;
	size_t n_matches;		/* min(n_matched, MAX_MATCHES) */
	const struct pal_inject_rule *matches[PAL_INJECT_MAX_MATCHES];
};

/*
 * Scans spans[0..n) with rules, using the caller thread's scratch s
 * (fitted to rules), into *res (cleared first).  A span is scanned only
 * by the rules that apply to its role; matches never cross spans.
 * threshold 0 means "never reached".  Errors: PAL_ERR_FORMAT when a span
 * is not valid UTF-8 (the message names the span), PAL_ERR_LIMIT for a
 * span over PAL_INJECT_TEXT_MAX, PAL_ERR_INVALID for a role out of
 * range or a scratch not fitted to rules, PAL_ERR_NOMEM.
 * Allocates only when a span needs folding and is longer than any
 * folded before with s.
 */
int pal_inject_scan(const struct pal_inject_rules *rules,
		    struct pal_inject_scratch *s,
		    const struct pal_inject_span *spans, size_t n,
		    uint64_t threshold, struct pal_inject_result *res,
		    struct pal_err *err);

/* The role an OpenAI "role" value names, or -1 for an unknown one. */
int pal_inject_role_parse(const char *s, size_t n);

#endif
