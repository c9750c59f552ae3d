/*
 * request.c - two-person control requests: the rules for their values,
 * RFC 3339 times, creation, canonical form, digest and strict parsing.
 *
 * A request file comes from the requester and is untrusted by everyone
 * who reads it: approvers read it to decide, the check reads it inside
 * approvals.  Its canonical form is rebuilt from the parsed values, so
 * that the digest never depends on how the file was laid out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "palisade/encoding.h"
#include "palisade/file.h"
#include "tpc_int.h"

#define CANON_MAX 2048	/* the longest canonical request is under 600 */
#define TIME_MAX INT64_C(253402300799)	/* 9999-12-31T23:59:59Z */

static const char *const op_names[] = {
	[PAL_TPC_UNSEAL] = "unseal",
	[PAL_TPC_EXPORT] = "export",
	[PAL_TPC_SHRED] = "shred",
	[PAL_TPC_ROTATE] = "rotate",
};

#define N_OPS (sizeof(op_names) / sizeof(op_names[0]))

const char *
pal_tpc_op_name(enum pal_tpc_op op)
{
	return (unsigned)op < N_OPS ? op_names[op] : "?";
}

int
pal_tpc_op_parse(const char *s, enum pal_tpc_op *out, struct pal_err *err)
{
	for (size_t i = 0; i < N_OPS; i++) {
		if (strcmp(s, op_names[i]) == 0) {
			*out = (enum pal_tpc_op)i;
			return 0;
		}
	}
	return pal_err_set(err, PAL_ERR_INVALID,
			   "operation must be unseal, export, shred or "
			   "rotate");
}

/* ---- value rules ---- */

static int
is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		(c >= 'A' && c <= 'Z');
}

static int
name_char(unsigned char c)
{
	return is_alnum(c) || c == '.' || c == '_' || c == '-' || c == '@' ||
		c == '+';
}

int
pal_tpc_check_name(const char *s, const char *what, struct pal_err *err)
{
	size_t n = strnlen(s, PAL_TPC_NAME_MAX + 1);

	if (n == 0 || n > PAL_TPC_NAME_MAX)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "%s must be 1 to %d bytes", what,
				   PAL_TPC_NAME_MAX);
	if (!is_alnum((unsigned char)s[0]))
		return pal_err_set(err, PAL_ERR_INVALID,
				   "%s must start with a letter or digit",
				   what);
	for (size_t i = 1; i < n; i++)
		if (!name_char((unsigned char)s[i]))
			return pal_err_set(err, PAL_ERR_INVALID,
					   "%s: byte %zu (0x%02x) is not one "
					   "of A-Z a-z 0-9 . _ - @ +", what,
					   i, (unsigned char)s[i]);
	return 0;
}

int
pal_tpc_check_release(const char *s, const char *what, struct pal_err *err)
{
	size_t n = strnlen(s, PAL_TPC_RELEASE_MAX + 1);

	if (n == 0 || n > PAL_TPC_RELEASE_MAX)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "%s must be 1 to %d bytes", what,
				   PAL_TPC_RELEASE_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || c == '/')
			return pal_err_set(err, PAL_ERR_INVALID,
					   "%s: byte %zu (0x%02x) is not "
					   "printable ASCII other than '/'",
					   what, i, c);
	}
	if (s[0] == ' ' || s[n - 1] == ' ')
		return pal_err_set(err, PAL_ERR_INVALID,
				   "%s starts or ends with a space", what);
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "%s cannot be \".\" or \"..\"", what);
	return 0;
}

static int
check_nonce(const char *s, size_t n, struct pal_err *err)
{
	if (n != PAL_TPC_NONCE_HEX)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "nonce must be %d hex digits",
				   PAL_TPC_NONCE_HEX);
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "nonce: character %zu is not a "
					   "lowercase hex digit", i);
	return 0;
}

/* ---- time ---- */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = y / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int
pal_tpc_time_format(int64_t t, char out[PAL_TPC_TIME_LEN + 1])
{
	int64_t y;
	unsigned m, d;

	if (t < 0 || t > TIME_MAX)
		return PAL_ERR_INVALID;
	civil_from_days(t / 86400, &y, &m, &d);
	unsigned s = (unsigned)(t % 86400);
	int n = snprintf(out, PAL_TPC_TIME_LEN + 1,
			 "%04d-%02u-%02uT%02u:%02u:%02uZ", (int)y, m, d,
			 s / 3600, s / 60 % 60, s % 60);
	return n == PAL_TPC_TIME_LEN ? 0 : PAL_ERR_INVALID;
}

/* The n digits at s as a number, or -1. */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static unsigned
days_in_month(int y, int m)
{
	static const unsigned char dm[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return dm[m - 1] + (m == 2 && leap);
}

int
pal_tpc_time_parse(const char *s, size_t len, int64_t *out)
{
	if (len != PAL_TPC_TIME_LEN || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
		return PAL_ERR_FORMAT;
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int h = digits(s + 11, 2), mi = digits(s + 14, 2);
	int se = digits(s + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    (unsigned)d > days_in_month(y, mo) || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || se < 0 || se > 59)
		return PAL_ERR_FORMAT;
	*out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
		h * 3600 + mi * 60 + se;
	return 0;
}

/* ---- creation ---- */

static int
copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap);

	if (n >= cap)
		return PAL_ERR_LIMIT;
	memcpy(dst, src, n + 1);
	return 0;
}

/* The values every request holds, checked once for new and parsed ones. */
static int
check_values(const struct pal_tpc_request *r, struct pal_err *err)
{
	int rc = pal_tpc_check_name(r->requester, "requester", err);

	if (rc == 0)
		rc = pal_tpc_check_name(r->vault, "vault", err);
	if (rc == 0)
		rc = pal_tpc_check_release(r->release, "release", err);
	if (rc == 0 && (unsigned)r->op >= N_OPS)
		rc = pal_err_set(err, PAL_ERR_INVALID, "unknown operation");
	return rc;
}

int
pal_tpc_request_new(enum pal_tpc_op op, const char *release,
		    const char *requester, const char *vault, int64_t now,
		    long ttl, struct pal_tpc_request *out,
		    struct pal_err *err)
{
	struct pal_tpc_request r;
	uint8_t nonce[PAL_TPC_NONCE_HEX / 2];

	memset(&r, 0, sizeof(r));
	r.op = op;
	if (copy_str(r.release, sizeof(r.release), release) < 0 ||
	    copy_str(r.requester, sizeof(r.requester), requester) < 0 ||
	    copy_str(r.vault, sizeof(r.vault), vault) < 0)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "release, requester or vault too long");
	int rc = check_values(&r, err);
	if (rc < 0)
		return rc;
	if (ttl < 1 || ttl > PAL_TPC_TTL_MAX)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "a request lives 1 to %ld seconds, not %ld",
				   PAL_TPC_TTL_MAX, ttl);
	r.expires_at = now + ttl;
	if (now < 0 || pal_tpc_time_format(r.expires_at, r.expires) < 0)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "the clock is out of range");
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "no random bytes for the nonce");
	pal_hex_encode(nonce, sizeof(nonce), r.nonce);
	*out = r;
	return 0;
}

/* ---- canonical form and digest ---- */

int
pal_tpc_request_canonical(const struct pal_tpc_request *r,
			  struct pal_buf *out, struct pal_err *err)
{
	/* Members in code-point order, as RFC 8785 sorts them. */
	int rc = pal_buf_putc(out, '{');

	if (rc == 0)
		rc = pal_tpc_canon_member_str(out, "expires", r->expires, 1);
	if (rc == 0)
		rc = pal_tpc_canon_member_str(out, "nonce", r->nonce, 0);
	if (rc == 0)
		rc = pal_tpc_canon_member_str(out, "operation",
					      pal_tpc_op_name(r->op), 0);
	if (rc == 0)
		rc = pal_tpc_canon_member_str(out, "release", r->release, 0);
	if (rc == 0)
		rc = pal_tpc_canon_member_str(out, "requester", r->requester,
					      0);
	if (rc == 0)
		rc = pal_tpc_canon_member_str(out, "vault", r->vault, 0);
	if (rc == 0)
		rc = pal_tpc_canon_member(out, "version", 0);
	if (rc == 0)
		rc = pal_buf_printf(out, "%d}", PAL_TPC_VERSION);
	if (rc < 0)
		return pal_err_set(err, rc, "cannot build the canonical "
				   "request");
	return 0;
}

int
pal_tpc_request_digest(const struct pal_tpc_request *r,
		       uint8_t out[PAL_TPC_DIGEST_LEN], struct pal_err *err)
{
	struct pal_buf b;
	unsigned int n = 0;

	pal_buf_init(&b, CANON_MAX);
	int rc = pal_tpc_request_canonical(r, &b, err);
	if (rc == 0 && (EVP_Digest(b.p, b.len, out, &n, EVP_sha256(),
				   NULL) != 1 || n != PAL_TPC_DIGEST_LEN))
		rc = pal_err_set(err, PAL_ERR_CRYPTO, "SHA-256 failed");
	pal_buf_free(&b);
	return rc;
}

/* ---- parsing ---- */

static const char *const request_members[] = {
	"expires", "nonce", "operation", "release", "requester", "vault",
	"version",
};

/*
 * A value rule failed inside a document: the message gains where, and the
 * error is the document's (malformed), not the caller's argument.
 */
static int
refuse_format(struct pal_err *err, const char *where)
{
	pal_err_wrap(err, PAL_ERR_FORMAT, "%s: ", where);
	if (err != NULL)
		err->code = PAL_ERR_FORMAT;
	return PAL_ERR_FORMAT;
}

/* The string member name copied into dst (cap bytes with the NUL). */
static int
get_str(json_t *o, const char *where, const char *name, char *dst,
	size_t cap, struct pal_err *err)
{
	const char *s;
	size_t n;
	int rc = pal_tpc_json_str(o, where, name, cap - 1, &s, &n, err);

	if (rc == 0)
		memcpy(dst, s, n + 1);
	return rc;
}

static int
parse_fields(json_t *o, const char *where, struct pal_tpc_request *r,
	     struct pal_err *err)
{
	const char *s;
	long long version;
	int rc = pal_tpc_json_int(o, where, "version", 0, 1000000, &version,
				  err);

	if (rc == 0 && version != PAL_TPC_VERSION)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "%s.version: %lld is not supported (%d is)",
				   where, version, PAL_TPC_VERSION);
	if (rc == 0)
		rc = pal_tpc_json_str(o, where, "operation", 16, &s, NULL,
				      err);
	if (rc == 0 && pal_tpc_op_parse(s, &r->op, err) < 0)
		rc = refuse_format(err, where);
	if (rc == 0)
		rc = get_str(o, where, "release", r->release,
			     sizeof(r->release), err);
	if (rc == 0)
		rc = get_str(o, where, "requester", r->requester,
			     sizeof(r->requester), err);
	if (rc == 0)
		rc = get_str(o, where, "vault", r->vault, sizeof(r->vault),
			     err);
	if (rc == 0)
		rc = get_str(o, where, "nonce", r->nonce, sizeof(r->nonce),
			     err);
	if (rc == 0)
		rc = get_str(o, where, "expires", r->expires,
			     sizeof(r->expires), err);
	return rc;
}

int
pal_tpc_request_from_json(json_t *o, const char *where,
			  struct pal_tpc_request *out, struct pal_err *err)
{
	struct pal_tpc_request r;
	size_t n = sizeof(request_members) / sizeof(request_members[0]);

	memset(&r, 0, sizeof(r));
	int rc = pal_tpc_json_members(o, where, request_members, n, NULL, 0,
				      err);
	if (rc == 0)
		rc = parse_fields(o, where, &r, err);
	if (rc == 0 && check_values(&r, err) < 0)
		rc = refuse_format(err, where);
	if (rc == 0 && check_nonce(r.nonce, strlen(r.nonce), err) < 0)
		rc = refuse_format(err, where);
	if (rc == 0 && pal_tpc_time_parse(r.expires, strlen(r.expires),
					  &r.expires_at) < 0)
		rc = pal_err_set(err, PAL_ERR_FORMAT,
				 "%s.expires: not a UTC time of the form "
				 "YYYY-MM-DDTHH:MM:SSZ", where);
	if (rc < 0)
		return rc;
	*out = r;
	return 0;
}

int
pal_tpc_request_parse(const uint8_t *data, size_t len,
		      struct pal_tpc_request *out, struct pal_err *err)
{
	json_t *j = NULL;
	int rc = pal_tpc_json_load(data, len, PAL_TPC_REQUEST_FILE_MAX,
				   "request", &j, err);

	if (rc == 0)
		rc = pal_tpc_request_from_json(j, "request", out, err);
	json_decref(j);
	return rc;
}

int
pal_tpc_request_load(const char *path, struct pal_tpc_request *out,
		     struct pal_err *err)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	int rc = pal_file_read(path, PAL_TPC_REQUEST_FILE_MAX, &buf, &n, err);

	/* pal_file_read's messages name the file already. */
	if (rc == 0 && (rc = pal_tpc_request_parse(buf, n, out, err)) < 0)
		pal_err_wrap(err, rc, "%s: ", path);
	free(buf);
	return rc;
}

int
pal_tpc_request_write(const struct pal_tpc_request *r, const char *path,
		      struct pal_err *err)
{
	struct pal_buf b;

	pal_buf_init(&b, CANON_MAX);
	int rc = pal_tpc_request_canonical(r, &b, err);
	if (rc == 0 && pal_buf_putc(&b, '\n') < 0)
		rc = pal_err_set(err, PAL_ERR_LIMIT, "request too long");
	if (rc == 0)
		rc = pal_file_write_atomic(path, b.p, b.len, 0644, err);
	pal_buf_free(&b);
	return rc;
}

int
pal_tpc_request_matches(const struct pal_tpc_request *r,
			const struct pal_tpc_want *want)
{
	return r->op == want->op && strcmp(r->release, want->release) == 0 &&
		strcmp(r->vault, want->vault) == 0;
}

int
pal_tpc_request_describe(const struct pal_tpc_request *r,
			 struct pal_buf *out, struct pal_err *err)
{
	uint8_t d[PAL_TPC_DIGEST_LEN];
	char hex[2 * PAL_TPC_DIGEST_LEN + 1];
	int rc = pal_tpc_request_digest(r, d, err);

	if (rc < 0)
		return rc;
	pal_hex_encode(d, sizeof(d), hex);
	/* Every value passed the character rules: safe to print as is. */
	rc = pal_buf_printf(out, "%s of release '%s' in vault %s, requested "
			    "by %s, expires %s, digest %s",
			    pal_tpc_op_name(r->op), r->release, r->vault,
			    r->requester, r->expires, hex);
	return rc < 0 ? pal_err_set(err, rc, "description too long") : 0;
}
