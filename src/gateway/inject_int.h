/*
 * inject_int.h - what the files of the prompt-injection rules share
 * (inject.h): the parsed rules, the compiled database, the fold of
 * disguising characters.
 */
#ifndef PALISADE_INJECT_INT_H
#define PALISADE_INJECT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <hs/hs.h>

#include "palisade/inject.h"

/* A rule and the strings its public view points to. */
struct inject_entry {
	struct pal_inject_rule pub;
	char *id;
	char *pattern;
	char *description;
	size_t pattern_column;		/* 1-based, for compile errors */
};

struct pal_inject_rules {
	char *name;
	struct inject_entry *rules;
	size_t n;
	uint32_t roles;			/* union of the rules' roles */
	hs_database_t *db;
	uint64_t serial;		/* unique per rules ever built, so that
					   a scratch knows what it fits */
};

/*
 * Parses the YAML of a rules file into r (name and rules; no database).
 * Errors as pal_inject_rules_parse.
 */
int inject_rules_read(struct pal_inject_rules *r, const uint8_t *yaml,
		      size_t len, struct pal_err *err);

/* Compiles r's patterns into r->db; errors name the rule and its line. */
int inject_rules_compile(struct pal_inject_rules *r, struct pal_err *err);

/*
 * Copies the valid UTF-8 s[0..n) into out (room for n bytes) with
 * Unicode spaces made ASCII spaces, invisible and bidi controls, tag
 * characters and variation selectors removed, and fullwidth ASCII made
 * ASCII.  Returns the folded length; *changed says whether it differs
 * from s.
 */
size_t inject_fold(const char *s, size_t n, char *out, int *changed);

#endif
