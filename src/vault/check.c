/*
 * check.c - the decision: may this operation run with these approvals?
 *
 * Trusted: want (what the operator asked for), the approver set (its
 * envelope verified by the caller), the clock and the replay store.
 * Untrusted: the request and every approval.  Whole-request faults
 * (wrong vault, operation or release, expired, already used) refuse at
 * once with one reason; then every approval is judged and every refusal
 * is reported, so that an operator short of approvals learns what to fix
 * in one run.  Nothing is recorded unless the threshold is met.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/encoding.h"
#include "palisade/file.h"
#include "tpc_int.h"

#define CANON_MAX 2048

/* One approval to judge, or the reason it could not even be read. */
struct item {
	const struct pal_tpc_approval *a;	/* NULL when bad */
	const char *label;	/* a file path, or NULL */
	const char *bad;	/* why it could not be read */
};

struct ctx {
	const struct pal_tpc_want *want;
	const struct pal_tpc_approvers *set;
	const struct pal_tpc_request *req;
	struct pal_buf canon;			/* the request's bytes */
	char hex[2 * PAL_TPC_DIGEST_LEN + 1];	/* its digest */
	struct pal_tpc_report *rep;
};

static void
refuse(struct ctx *c, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
refuse(struct ctx *c, const char *who, const char *fmt, ...)
{
	struct pal_tpc_report *r = c->rep;
	va_list ap;

	if (r->n_refused >= PAL_TPC_APPROVALS_MAX)
		return;
	struct pal_tpc_refusal *f = &r->refused[r->n_refused++];
	snprintf(f->who, sizeof(f->who), "%s", who);
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
}

static int
accepted(const struct pal_tpc_report *r, const char *name)
{
	for (size_t i = 0; i < r->n_valid; i++)
		if (strcmp(r->valid[i], name) == 0)
			return 1;
	return 0;
}

/* Judges one approval; accepted ones join rep->valid. */
static void
judge(struct ctx *c, const struct item *it, size_t i)
{
	char label[32];
	const struct pal_tpc_approval *a = it->a;
	uint8_t d[PAL_TPC_DIGEST_LEN];
	char hex[2 * PAL_TPC_DIGEST_LEN + 1];

	snprintf(label, sizeof(label), "approval %zu", i + 1);
	if (a == NULL) {
		refuse(c, it->label ? it->label : label, "%s", it->bad);
		return;
	}
	const char *who = a->approver;
	if (pal_tpc_request_digest(&a->req, d, NULL) < 0) {
		refuse(c, who, "its request cannot be encoded");
		return;
	}
	pal_hex_encode(d, sizeof(d), hex);
	if (strcmp(hex, c->hex) != 0) {
		refuse(c, who, "it approves another request (digest %.16s, "
		       "not %.16s)", hex, c->hex);
		return;
	}
	const struct pal_tpc_approver *m = pal_tpc_approvers_find(c->set,
								  who);
	if (m == NULL) {
		refuse(c, who, "unknown approver (not in vault %s's approver "
		       "set, serial %llu)", c->set->vault,
		       (unsigned long long)c->set->serial);
		return;
	}
	if (strcmp(who, c->req->requester) == 0) {
		refuse(c, who, "%s is the requester and cannot approve their "
		       "own request", who);
		return;
	}
	if (pal_sig_verify(m->key, c->canon.p, c->canon.len, a->sig,
			   a->sig_len, NULL) != 0) {
		refuse(c, who, "the signature does not verify with %s's key "
		       "(forged or altered)", who);
		return;
	}
	if (accepted(c->rep, who)) {
		refuse(c, who, "%s has already approved this request (the "
		       "same approver counts once)", who);
		return;
	}
	struct pal_tpc_report *r = c->rep;
	memcpy(r->valid[r->n_valid++], who, strlen(who) + 1);
}

/* The request to check: given, else chosen from the approvals. */
static const struct pal_tpc_request *
choose_request(const struct pal_tpc_request *req, const struct item *items,
	       size_t n, const struct pal_tpc_want *want)
{
	const struct pal_tpc_request *first = NULL;

	if (req != NULL)
		return req;
	for (size_t i = 0; i < n; i++) {
		if (items[i].a == NULL)
			continue;
		if (first == NULL)
			first = &items[i].a->req;
		if (pal_tpc_request_matches(&items[i].a->req, want))
			return &items[i].a->req;
	}
	return first;
}

/* Faults of the request as a whole; 0 or PAL_ERR_VERIFY with a reason. */
static int
check_request(struct ctx *c, int64_t now, struct pal_tpc_replay *store,
	      struct pal_err *err)
{
	const struct pal_tpc_request *q = c->req;
	const struct pal_tpc_want *w = c->want;
	char when[PAL_TPC_TIME_LEN + 1] = "?", used_at[PAL_TPC_TIME_LEN + 1];
	int seen = 0;

	pal_tpc_time_format(now, when);
	if (strcmp(q->vault, w->vault) != 0)
		return pal_err_set(err, PAL_ERR_VERIFY, "for vault %s, not %s",
				   q->vault, w->vault);
	if (q->op != w->op)
		return pal_err_set(err, PAL_ERR_VERIFY, "for %s, not %s",
				   pal_tpc_op_name(q->op),
				   pal_tpc_op_name(w->op));
	if (strcmp(q->release, w->release) != 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "for release '%s', not '%s'", q->release,
				   w->release);
	if (w->requester != NULL && strcmp(q->requester, w->requester) != 0)
		return pal_err_set(err, PAL_ERR_VERIFY, "made by %s, not %s",
				   q->requester, w->requester);
	if (now >= q->expires_at)
		return pal_err_set(err, PAL_ERR_VERIFY, "expired at %s (now "
				   "%s)", q->expires, when);
	if (q->expires_at - now > PAL_TPC_TTL_MAX)
		return pal_err_set(err, PAL_ERR_VERIFY, "expires at %s, more "
				   "than %ld days after now (%s)",
				   q->expires, PAL_TPC_TTL_MAX / 86400, when);
	int rc = pal_tpc_replay_seen(store, c->rep->digest, &seen, used_at,
				     err);
	if (rc == 0 && seen)
		rc = pal_err_set(err, PAL_ERR_VERIFY, "already used at %s "
				 "(a request runs once)", used_at);
	return rc;
}

/* "1 of 2 approvals: bob's was refused: ...; carol's was refused: ..." */
static int
short_of_approvals(const struct pal_tpc_report *r, struct pal_err *err)
{
	struct pal_buf b;

	pal_buf_init(&b, PAL_ERR_MSG_MAX);
	pal_buf_printf(&b, "%zu of %u approvals", r->n_valid, r->threshold);
	for (size_t i = 0; i < r->n_refused; i++)
		pal_buf_printf(&b, "%s%s's was refused: %s", i ? "; " : ": ",
			       r->refused[i].who, r->refused[i].why);
	if (r->n_refused == 0)
		pal_buf_printf(&b, ": %u more needed from the approver set",
			       r->threshold - (unsigned)r->n_valid);
	pal_err_set(err, PAL_ERR_VERIFY, "%s",
		    b.p ? (const char *)b.p : "not enough approvals");
	pal_buf_free(&b);
	return PAL_ERR_VERIFY;
}

static int
args_ok(const struct pal_tpc_want *want, const struct pal_tpc_approvers *set,
	struct pal_tpc_replay *store, size_t n, struct pal_err *err)
{
	if (want == NULL || want->release == NULL || want->vault == NULL ||
	    set == NULL || store == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "two-person check: missing argument");
	if (n == 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "no approvals (%u needed)", set->threshold);
	if (n > PAL_TPC_APPROVALS_MAX)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "%zu approvals: at most %d are taken", n,
				   PAL_TPC_APPROVALS_MAX);
	if (strcmp(set->vault, want->vault) != 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "the approver set is for vault %s, not %s",
				   set->vault, want->vault);
	return 0;
}

static int
decide(struct ctx *c, const struct item *items, size_t n, int64_t now,
       struct pal_tpc_replay *store, struct pal_err *err)
{
	uint8_t d[PAL_TPC_DIGEST_LEN];
	struct pal_tpc_report *r = c->rep;

	c->req = choose_request(c->req, items, n, c->want);
	if (c->req == NULL) {
		for (size_t i = 0; i < n; i++)
			judge(c, &items[i], i);
		return short_of_approvals(r, err);
	}
	int rc = pal_tpc_request_canonical(c->req, &c->canon, err);
	if (rc == 0)
		rc = pal_tpc_request_digest(c->req, d, err);
	if (rc < 0)
		return rc;
	r->have_request = 1;
	r->req = *c->req;
	memcpy(r->digest, d, sizeof(d));
	pal_hex_encode(d, sizeof(d), c->hex);
	if ((rc = check_request(c, now, store, err)) < 0)
		return pal_err_wrap(err, rc, "request %.16s: ", c->hex);
	for (size_t i = 0; i < n; i++)
		judge(c, &items[i], i);
	if (r->n_valid < r->threshold)
		return short_of_approvals(r, err);
	return pal_tpc_replay_consume_under(store, c->req, c->set->serial, now,
					    err);
}

static int
check_items(const struct pal_tpc_want *want,
	    const struct pal_tpc_request *req, const struct item *items,
	    size_t n, const struct pal_tpc_approvers *set, int64_t now,
	    struct pal_tpc_replay *store, struct pal_tpc_report *report,
	    struct pal_err *err)
{
	struct pal_tpc_report *own = NULL;
	struct ctx c = { .want = want, .set = set, .req = req };

	if (report == NULL && (report = own = malloc(sizeof(*own))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	memset(report, 0, sizeof(*report));
	c.rep = report;
	report->threshold = set ? set->threshold : 0;
	pal_buf_init(&c.canon, CANON_MAX);
	int rc = args_ok(want, set, store, n, err);
	if (rc == 0)
		rc = decide(&c, items, n, now, store, err);
	pal_buf_free(&c.canon);
	free(own);
	return rc;
}

int
pal_tpc_check(const struct pal_tpc_want *want,
	      const struct pal_tpc_request *req,
	      const struct pal_tpc_approval *approvals, size_t n,
	      const struct pal_tpc_approvers *set, int64_t now,
	      struct pal_tpc_replay *store, struct pal_tpc_report *report,
	      struct pal_err *err)
{
	struct item items[PAL_TPC_APPROVALS_MAX];

	memset(items, 0, sizeof(items));
	for (size_t i = 0; i < n && i < PAL_TPC_APPROVALS_MAX; i++)
		items[i].a = &approvals[i];
	return check_items(want, req, items, n, set, now, store, report, err);
}

/* Approvals read from files, with room for the reason a file failed. */
struct loaded {
	struct pal_tpc_approval a[PAL_TPC_APPROVALS_MAX];
	struct item items[PAL_TPC_APPROVALS_MAX];
	struct pal_err why[PAL_TPC_APPROVALS_MAX];
};

static void
load_approvals(struct loaded *l, const char *const paths[], size_t n)
{
	for (size_t i = 0; i < n && i < PAL_TPC_APPROVALS_MAX; i++) {
		struct pal_err *e = &l->why[i];

		pal_err_clear(e);
		l->items[i].label = paths[i];
		if (pal_tpc_approval_load(paths[i], &l->a[i], e) == 0) {
			l->items[i].a = &l->a[i];
			continue;
		}
		/* The message starts with the path, which is the label. */
		size_t skip = strlen(paths[i]) + 2;
		l->items[i].bad = strncmp(e->msg, paths[i], skip - 2) == 0 &&
			strlen(e->msg) >= skip ? e->msg + skip : e->msg;
	}
}

int
pal_tpc_authorize(const struct pal_tpc_want *want, const char *request_path,
		  const char *const approval_paths[], size_t n,
		  const struct pal_tpc_approvers *set, int64_t now,
		  struct pal_tpc_replay *store, struct pal_tpc_report *report,
		  struct pal_err *err)
{
	struct pal_tpc_request req;
	struct loaded *l = NULL;
	int rc = 0;

	if (request_path != NULL &&
	    (rc = pal_tpc_request_load(request_path, &req, err)) < 0)
		return rc;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	load_approvals(l, approval_paths, n);
	rc = check_items(want, request_path ? &req : NULL, l->items, n, set,
			 now, store, report, err);
	free(l);
	return rc;
}
