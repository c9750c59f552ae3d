/*
 * entry.c - the one entry format every component writes to the log, and
 * the one call that records an event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "palisade/json_writer.h"
#include "palisade/tlog.h"

#define NAME_MAX_LEN 64
#define ENTRY_MAX 65535

/* type and actor: 1 to 64 of [a-z0-9._-]. */
static int
check_name(const char *what, const char *s, struct pal_err *err)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > NAME_MAX_LEN ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") != n)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "log entry %s must be 1 to %d of "
				   "[a-z0-9._-]", what, NAME_MAX_LEN);
	return 0;
}

static int
check_subject(const char *s, struct pal_err *err)
{
	if (s == NULL)
		return 0;
	if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64 ||
	    strspn(s + 7, "0123456789abcdef") != 64)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "log entry subject must be sha256:<64 "
				   "lowercase hex digits>");
	return 0;
}

static int
check_head(const char *type, const char *actor, const char *subject,
	   int64_t unix_time, char when[32], struct pal_err *err)
{
	int rc = check_name("type", type, err);
	if (rc == 0)
		rc = check_name("actor", actor, err);
	if (rc == 0)
		rc = check_subject(subject, err);
	if (rc < 0)
		return rc;
	time_t t = (time_t)unix_time;
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return pal_err_set(err, PAL_ERR_INVALID, "bad time");
	return 0;
}

int
pal_log_entry_open(struct pal_jw *w, const char *type, const char *actor,
		   const char *subject, int64_t unix_time, struct pal_err *err)
{
	char when[32];
	int rc = check_head(type, actor, subject, unix_time, when, err);

	if (rc < 0)
		return rc;
	pal_jw_object(w, NULL);
	pal_jw_string(w, "type", type);
	pal_jw_string(w, "time", when);
	pal_jw_string(w, "actor", actor);
	if (subject != NULL)
		pal_jw_string(w, "subject", subject);
	pal_jw_object(w, "details");
	if (pal_jw_error(w) < 0)
		return pal_err_set(err, pal_jw_error(w), "log entry: out of "
				   "memory or room");
	return 0;
}

int
pal_log_entry_finish(struct pal_jw *w, struct pal_err *err)
{
	pal_jw_close(w);
	pal_jw_close(w);
	if (pal_jw_error(w) == PAL_ERR_LIMIT || w->out->len > ENTRY_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT, "log entry larger "
				   "than %d bytes", ENTRY_MAX);
	if (pal_jw_error(w) < 0)
		return pal_err_set(err, pal_jw_error(w), "log entry: out of "
				   "memory");
	return 0;
}

int
pal_log_entry_build_obj(const char *type, const char *actor,
			const char *subject, json_t *details,
			int64_t unix_time, char **out, struct pal_err *err)
{
	char when[32];
	int rc = check_head(type, actor, subject, unix_time, when, err);
	if (rc < 0)
		return rc;
	if (!json_is_object(details))
		return pal_err_set(err, PAL_ERR_INVALID,
				   "log entry details must be a JSON object");
	json_t *e = json_pack("{s:s, s:s, s:s, s:s*, s:O}", "type", type,
			      "time", when, "actor", actor, "subject", subject,
			      "details", details);
	char *s = e ? json_dumps(e, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(e);
	if (s == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (strlen(s) > ENTRY_MAX) {
		free(s);
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "log entry larger than %d bytes", ENTRY_MAX);
	}
	*out = s;
	return 0;
}

int
pal_log_entry_build(const char *type, const char *actor, const char *subject,
		    const char *details_json, int64_t unix_time, char **out,
		    struct pal_err *err)
{
	json_error_t je;
	json_t *details = details_json ?
		json_loads(details_json, JSON_REJECT_DUPLICATES, &je) :
		json_object();
	int rc = pal_log_entry_build_obj(type, actor, subject, details,
					 unix_time, out, err);
	json_decref(details);
	return rc;
}

int
pal_log_record(const char *dir, const char *type, const char *actor,
	       const char *subject, const char *details_json, uint64_t *index,
	       struct pal_err *err)
{
	char *entry = NULL;
	int rc = pal_log_entry_build(type, actor, subject, details_json,
				     (int64_t)time(NULL), &entry, err);
	struct pal_log *l = NULL;
	if (rc == 0)
		rc = pal_log_open_dir(dir, &l, err);
	if (rc == 0)
		rc = pal_log_append(l, (const uint8_t *)entry, strlen(entry),
				    index, err);
	if (rc == 0)
		rc = pal_log_publish(l, err);
	int rc2 = pal_log_close(l, rc == 0 ? err : NULL);
	free(entry);
	return rc < 0 ? rc : rc2;
}
