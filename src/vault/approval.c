/*
 * approval.c - an approver's signature over a request, and the approval
 * file that carries it with the request it approves.
 *
 * An approval file comes from an approver, through whoever collects the
 * approvals: untrusted until the check has verified its signature with
 * the key the approver set gives its approver.  The parser only makes
 * sure it is well formed.
 */
#include <stdlib.h>
#include <string.h>

#include "palisade/encoding.h"
#include "palisade/file.h"
#include "tpc_int.h"

#define CANON_MAX 4096	/* request (< 600) + name + base64 signature */

int
pal_tpc_approve(const struct pal_tpc_request *req, const char *approver,
		struct pal_signer *signer, int64_t now,
		struct pal_tpc_approval *out, struct pal_err *err)
{
	struct pal_tpc_approval a;
	struct pal_buf canon;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	char when[PAL_TPC_TIME_LEN + 1] = "?";

	memset(&a, 0, sizeof(a));
	int rc = pal_tpc_check_name(approver, "approver", err);
	if (rc < 0)
		return rc;
	if (strcmp(approver, req->requester) == 0)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "%s is the requester and cannot approve "
				   "their own request", approver);
	pal_tpc_time_format(now, when);
	if (now >= req->expires_at)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "the request expired at %s (now %s)",
				   req->expires, when);
	if (req->expires_at - now > PAL_TPC_TTL_MAX)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "the request expires at %s, more than %ld "
				   "days after now (%s)", req->expires,
				   PAL_TPC_TTL_MAX / 86400, when);
	if ((rc = pal_tpc_key_p256(signer->pub, "the approver's key",
				   err)) < 0)
		return rc;
	memcpy(a.approver, approver, strlen(approver) + 1);
	a.req = *req;
	pal_buf_init(&canon, CANON_MAX);
	rc = pal_tpc_request_canonical(req, &canon, err);
	if (rc == 0)
		rc = signer->sign(signer, canon.p, canon.len, &sig, &sig_len,
				  err);
	if (rc == 0 && (sig_len == 0 || sig_len > sizeof(a.sig)))
		rc = pal_err_set(err, PAL_ERR_CRYPTO,
				 "the signer returned a %zu-byte signature",
				 sig_len);
	/* A faulty token must not hand out approvals that never verify. */
	if (rc == 0)
		rc = pal_sig_verify(signer->pub, canon.p, canon.len, sig,
				    sig_len, err);
	if (rc == 0) {
		memcpy(a.sig, sig, sig_len);
		a.sig_len = sig_len;
		*out = a;
	}
	free(sig);
	pal_buf_free(&canon);
	return rc;
}

int
pal_tpc_approval_serialize(const struct pal_tpc_approval *a,
			   struct pal_buf *out, struct pal_err *err)
{
	int rc = pal_buf_putc(out, '{');

	if (rc == 0)
		rc = pal_tpc_canon_member_str(out, "approver", a->approver, 1);
	if (rc == 0)
		rc = pal_tpc_canon_member(out, "request", 0);
	if (rc == 0)
		rc = pal_tpc_request_canonical(&a->req, out, err);
	if (rc == 0)
		rc = pal_tpc_canon_member(out, "signature", 0);
	if (rc == 0)
		rc = pal_buf_putc(out, '"');
	if (rc == 0)
		rc = pal_base64_encode(a->sig, a->sig_len, out);
	if (rc == 0)
		rc = pal_buf_puts(out, "\"}");
	if (rc < 0)
		return pal_err_set(err, rc, "cannot build the approval");
	return 0;
}

/* A name rule failed inside a document: the document is malformed. */
static int
malformed(struct pal_err *err)
{
	if (err != NULL)
		err->code = PAL_ERR_FORMAT;
	return PAL_ERR_FORMAT;
}

static const char *const approval_members[] = {
	"approver", "request", "signature",
};

static int
from_json(json_t *j, struct pal_tpc_approval *a, struct pal_err *err)
{
	const char *name;
	size_t n;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int rc = pal_tpc_json_members(j, "approval", approval_members, 3,
				      NULL, 0, err);

	if (rc == 0)
		rc = pal_tpc_json_str(j, "approval", "approver",
				      PAL_TPC_NAME_MAX, &name, &n, err);
	if (rc == 0 && pal_tpc_check_name(name, "approval.approver", err) < 0)
		rc = malformed(err);
	if (rc == 0)
		memcpy(a->approver, name, n + 1);
	if (rc == 0)
		rc = pal_tpc_request_from_json(json_object_get(j, "request"),
					       "approval.request", &a->req,
					       err);
	if (rc == 0)
		rc = pal_tpc_json_b64(j, "approval", "signature",
				      PAL_TPC_SIG_MAX, &sig, &sig_len, err);
	if (rc == 0) {
		memcpy(a->sig, sig, sig_len);
		a->sig_len = sig_len;
	}
	free(sig);
	return rc;
}

int
pal_tpc_approval_parse(const uint8_t *data, size_t len,
		       struct pal_tpc_approval *out, struct pal_err *err)
{
	struct pal_tpc_approval a;
	json_t *j = NULL;

	memset(&a, 0, sizeof(a));
	int rc = pal_tpc_json_load(data, len, PAL_TPC_APPROVAL_FILE_MAX,
				   "approval", &j, err);
	if (rc == 0)
		rc = from_json(j, &a, err);
	json_decref(j);
	if (rc == 0)
		*out = a;
	return rc;
}

int
pal_tpc_approval_load(const char *path, struct pal_tpc_approval *out,
		      struct pal_err *err)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	int rc = pal_file_read(path, PAL_TPC_APPROVAL_FILE_MAX, &buf, &n, err);

	/* pal_file_read's messages name the file already. */
	if (rc == 0 && (rc = pal_tpc_approval_parse(buf, n, out, err)) < 0)
		pal_err_wrap(err, rc, "%s: ", path);
	free(buf);
	return rc;
}

int
pal_tpc_approval_write(const struct pal_tpc_approval *a, const char *path,
		       struct pal_err *err)
{
	struct pal_buf b;

	pal_buf_init(&b, CANON_MAX);
	int rc = pal_tpc_approval_serialize(a, &b, err);
	if (rc == 0 && pal_buf_putc(&b, '\n') < 0)
		rc = pal_err_set(err, PAL_ERR_LIMIT, "approval too long");
	if (rc == 0)
		rc = pal_file_write_atomic(path, b.p, b.len, 0644, err);
	pal_buf_free(&b);
	return rc;
}

/* The approver's name: given, or the member of set holding the key. */
static int
approver_name(const char *approver, const struct pal_tpc_approvers *set,
	      const struct pal_signer *s, const char **out,
	      struct pal_err *err)
{
	if (approver != NULL) {
		const struct pal_tpc_approver *m =
			pal_tpc_approvers_find(set, approver);
		/* A set given is a set to agree with. */
		if (set != NULL && m == NULL)
			return pal_err_set(err, PAL_ERR_INVALID,
					   "%s is not in the vault's approver "
					   "set", approver);
		if (m != NULL && EVP_PKEY_eq(m->key, s->pub) != 1)
			return pal_err_set(err, PAL_ERR_INVALID,
					   "this key is not %s's key in the "
					   "vault's approver set", approver);
		*out = approver;
		return 0;
	}
	if (set == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "no approver name and no approver set to "
				   "find it in");
	const struct pal_tpc_approver *m =
		pal_tpc_approvers_find_key(set, s->pub);
	if (m == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "this key is not in the vault's approver "
				   "set");
	*out = m->name;
	return 0;
}

int
pal_tpc_approve_file(const char *request_path, const char *key,
		     const char *approver, const struct pal_tpc_approvers *set,
		     int64_t now, const char *out_path, struct pal_buf *desc,
		     struct pal_err *err)
{
	struct pal_tpc_request req;
	struct pal_tpc_approval a;
	struct pal_signer *s = NULL;
	const char *name = NULL;

	int rc = pal_tpc_request_load(request_path, &req, err);
	if (rc == 0 && set != NULL && strcmp(set->vault, req.vault) != 0)
		rc = pal_err_set(err, PAL_ERR_INVALID,
				 "%s: the request is for vault %s, the "
				 "approver set for vault %s", request_path,
				 req.vault, set->vault);
	if (rc == 0 && desc != NULL)
		rc = pal_tpc_request_describe(&req, desc, err);
	if (rc == 0)
		rc = pal_signer_open(key, &s, err);
	if (rc == 0)
		rc = approver_name(approver, set, s, &name, err);
	if (rc == 0)
		rc = pal_tpc_approve(&req, name, s, now, &a, err);
	if (rc == 0)
		rc = pal_tpc_approval_write(&a, out_path, err);
	pal_signer_free(s);
	return rc;
}
