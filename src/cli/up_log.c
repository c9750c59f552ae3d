/*
 * up_log.c - palisade up's entries in the gateway's Palisade log.
 *
 * Each step appends one entry ("up.unseal", "up.verify", ...) before the
 * gateway runs or after it stopped: the gateway holds the log's writer
 * lock while it runs.  The checkpoints are signed by the keeper process
 * that holds the log's key (tlog.h), the one the gateway uses, so that
 * this process never holds that key.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "palisade/gwconfig.h"
#include "palisade/tlog.h"
#include "up.h"

#define UP_ACTOR "up"

int
up_log(struct up *u, const char *type, const char *subject, json_t *details,
       struct pal_err *err)
{
	struct pal_log *l = NULL;
	char *entry = NULL;
	uint64_t index;
	int rc;

	if (details == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	rc = pal_log_entry_build_obj(type, UP_ACTOR, subject, details,
				     (int64_t)time(NULL), &entry, err);
	json_decref(details);
	if (rc == 0)
		rc = pal_log_open_keeper(u->gw->log.dir, u->keeper_fd, &l, err);
	if (rc == 0)
		rc = pal_log_append(l, (const uint8_t *)entry, strlen(entry),
				    &index, err);
	if (l != NULL) {
		struct pal_err e2 = { 0 };
		int rc2 = pal_log_close(l, &e2);

		if (rc == 0 && rc2 < 0) {
			*err = e2;
			rc = rc2;
		}
	}
	free(entry);
	if (rc < 0)
		return pal_err_wrap(err, rc, "log %s: ", u->gw->log.dir);
	return 0;
}
