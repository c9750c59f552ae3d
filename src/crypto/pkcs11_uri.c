/*
 * pkcs11_uri.c - RFC 7512 "pkcs11:" URIs, parsed strictly.
 *
 *   pkcs11:token=palisade;object=signing-key;id=%01%02
 *         ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/pin
 *
 * The path (before '?') holds ';'-separated attributes that select a
 * token, slot, library and object; the query holds '&'-separated
 * attributes that say how to reach it.  Each value is percent-decoded.
 *
 * The input is trusted configuration, but it carries a secret (pin-value)
 * and ends up choosing a key, so the parser refuses rather than guesses:
 * a character the RFC grammar does not allow, a malformed escape, an empty
 * attribute or value, a repeated or unknown attribute, or a value longer
 * than the PKCS#11 field it is compared with.  Messages give the attribute
 * name and offset, never a value.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "palisade/encoding.h"
#include "palisade/pkcs11.h"

#define SCHEME "pkcs11:"
#define SCHEME_LEN (sizeof(SCHEME) - 1)

/* Where an attribute may appear. */
enum part { PATH, QUERY };

/* How a value is checked and stored. */
enum kind {
	K_TEXT,		/* NUL-free string */
	K_SECRET,	/* as K_TEXT, wiped when freed */
	K_BYTES,	/* any bytes (id) */
	K_TYPE,		/* one of the type names */
	K_LIBVER,	/* M[.m] */
	K_SLOTID,	/* decimal CK_SLOT_ID */
};

struct attr {
	const char *name;
	enum part part;
	enum kind kind;
	size_t max;	/* decoded bytes */
	size_t off;	/* of the field in struct pal_p11_uri */
};

#define F(m) offsetof(struct pal_p11_uri, m)

/*
 * Limits are the sizes of the CK_TOKEN_INFO, CK_SLOT_INFO and CK_INFO
 * fields the values are compared with; longer values could never match.
 * Labels and ids are not fixed-size in PKCS#11: 255 bytes is far beyond
 * any real one.  Paths are bounded by PATH_MAX.
 */
static const struct attr attrs[] = {
	{ "token",		  PATH,  K_TEXT,   32,	 F(token) },
	{ "manufacturer",	  PATH,  K_TEXT,   32,	 F(manufacturer) },
	{ "serial",		  PATH,  K_TEXT,   16,	 F(serial) },
	{ "model",		  PATH,  K_TEXT,   16,	 F(model) },
	{ "slot-description",	  PATH,  K_TEXT,   64,	 F(slot_description) },
	{ "slot-manufacturer",	  PATH,  K_TEXT,   32,	 F(slot_manufacturer) },
	{ "slot-id",		  PATH,  K_SLOTID, 20,	 F(slot_id) },
	{ "library-manufacturer", PATH,  K_TEXT,   32,	 F(lib_manufacturer) },
	{ "library-description",  PATH,  K_TEXT,   32,	 F(lib_description) },
	{ "library-version",	  PATH,  K_LIBVER, 7,	 F(lib_major) },
	{ "object",		  PATH,  K_TEXT,   255,	 F(object) },
	{ "id",			  PATH,  K_BYTES,  255,	 F(id) },
	{ "type",		  PATH,  K_TYPE,   10,	 F(type) },
	{ "module-path",	  QUERY, K_TEXT,   4095, F(module_path) },
	{ "module-name",	  QUERY, K_TEXT,   255,	 F(module_name) },
	{ "pin-source",		  QUERY, K_TEXT,   4095, F(pin_source) },
	{ "pin-value",		  QUERY, K_SECRET, 255,	 F(pin_value) },
};

#define NATTRS (sizeof(attrs) / sizeof(attrs[0]))

static const struct {
	const char *name;
	enum pal_p11_type type;
} types[] = {
	{ "public", PAL_P11_TYPE_PUBLIC },
	{ "private", PAL_P11_TYPE_PRIVATE },
	{ "cert", PAL_P11_TYPE_CERT },
	{ "secret-key", PAL_P11_TYPE_SECRET_KEY },
	{ "data", PAL_P11_TYPE_DATA },
};

/* One attribute being parsed: its text in the URI and where it starts. */
struct span {
	const char *p;
	size_t n;
	size_t at;	/* offset in the URI, for messages */
};

struct parser {
	struct pal_p11_uri *u;
	unsigned int seen;	/* bit i: attrs[i] given */
	struct pal_err *err;
};

static int
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* pk11-pchar / pk11-qchar without the percent escapes. */
static int
value_char_ok(unsigned char c, enum part part)
{
	if (is_alnum(c) || strchr("-._~:[]@!$'()*+,=", c) != NULL)
		return c != '\0';
	if (part == PATH)
		return c == '&';
	return c == '/' || c == '?' || c == '|';
}

/* pk11-v-attr-nm-char: the characters of any attribute name. */
static int
name_char_ok(unsigned char c)
{
	return is_alnum(c) || c == '-' || c == '_';
}

/*
 * Checks the characters and escapes of a raw value and decodes it into a
 * new buffer (NUL-terminated; caller frees, wiping it if secret).
 */
static int
decode(struct parser *ps, const struct span *v, enum part part,
       const struct attr *a, uint8_t **out, size_t *out_len)
{
	uint8_t *d = malloc(v->n + 1);
	size_t i = 0, n = 0;
	int rc = 0;

	if (d == NULL)
		return pal_err_set(ps->err, PAL_ERR_NOMEM, "out of memory");
	while (rc == 0 && i < v->n) {
		unsigned char c = (unsigned char)v->p[i];
		if (c == '%') {
			int hi = -1, lo = -1;
			if (v->n - i >= 3) {
				hi = pal_hex_value((unsigned char)v->p[i + 1]);
				lo = pal_hex_value((unsigned char)v->p[i + 2]);
			}
			if (hi < 0 || lo < 0) {
				rc = pal_err_set(ps->err, PAL_ERR_FORMAT,
						 "pkcs11 URI: offset %zu: bad "
						 "percent escape in %s",
						 v->at + i, a->name);
				break;
			}
			d[n++] = (uint8_t)(hi << 4 | lo);
			i += 3;
		} else if (value_char_ok(c, part)) {
			d[n++] = c;
			i++;
		} else {
			rc = pal_err_set(ps->err, PAL_ERR_FORMAT,
					 "pkcs11 URI: offset %zu: character "
					 "0x%02x must be percent-encoded in %s",
					 v->at + i, c, a->name);
		}
	}
	if (rc == 0 && n > a->max)
		rc = pal_err_set(ps->err, PAL_ERR_LIMIT,
				 "pkcs11 URI: offset %zu: %s is longer than "
				 "%zu bytes", v->at, a->name, a->max);
	if (rc < 0) {
		OPENSSL_cleanse(d, v->n + 1);
		free(d);
		return rc;
	}
	d[n] = '\0';
	*out = d;
	*out_len = n;
	return 0;
}

/* Parses 1*DIGIT into *v, refusing values above limit. */
static int
parse_uint(const char *p, size_t n, unsigned long limit, unsigned long *v)
{
	unsigned long x = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned int dgt;
		if (!is_digit((unsigned char)p[i]))
			return -1;
		dgt = (unsigned int)(p[i] - '0');
		if (x > (limit - dgt) / 10)
			return -1;
		x = x * 10 + dgt;
	}
	*v = x;
	return 0;
}

static int
set_libver(struct pal_p11_uri *u, const char *s, size_t n)
{
	const char *dot = memchr(s, '.', n);
	size_t mlen = dot != NULL ? (size_t)(dot - s) : n;
	unsigned long major, minor = 0;

	if (parse_uint(s, mlen, 255, &major) != 0)
		return -1;
	if (dot != NULL &&
	    parse_uint(dot + 1, n - mlen - 1, 255, &minor) != 0)
		return -1;
	u->has_lib_version = 1;
	u->lib_major = (unsigned int)major;
	u->lib_minor = (unsigned int)minor;
	return 0;
}

static int
set_type(struct pal_p11_uri *u, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strlen(types[i].name) == n &&
		    memcmp(types[i].name, s, n) == 0) {
			u->type = types[i].type;
			return 0;
		}
	}
	return -1;
}

/* Stores a decoded value (taking d) into the field its attribute names. */
static int
store(struct parser *ps, const struct attr *a, const struct span *v,
      uint8_t *d, size_t n)
{
	struct pal_p11_uri *u = ps->u;
	char **field = (char **)(void *)((char *)u + a->off);
	int bad = 0;

	switch (a->kind) {
	case K_TEXT:
	case K_SECRET:
		if (memchr(d, '\0', n) != NULL)
			bad = 1;
		else
			*field = (char *)d, d = NULL;
		break;
	case K_BYTES:
		u->id = d;
		u->id_len = n;
		d = NULL;
		break;
	case K_TYPE:
		bad = set_type(u, (const char *)d, n);
		break;
	case K_LIBVER:
		bad = set_libver(u, (const char *)d, n);
		break;
	case K_SLOTID:
		bad = parse_uint((const char *)d, n, (unsigned long)-1,
				 &u->slot_id);
		u->has_slot_id = !bad;
		break;
	}
	if (d != NULL) {
		OPENSSL_cleanse(d, n);
		free(d);
	}
	if (bad)
		return pal_err_set(ps->err, PAL_ERR_FORMAT,
				   "pkcs11 URI: offset %zu: invalid %s value",
				   v->at, a->name);
	return 0;
}

static const struct attr *
lookup(const char *name, size_t n, enum part part, size_t *index)
{
	size_t i;

	for (i = 0; i < NATTRS; i++) {
		if (attrs[i].part == part && strlen(attrs[i].name) == n &&
		    memcmp(attrs[i].name, name, n) == 0) {
			*index = i;
			return &attrs[i];
		}
	}
	return NULL;
}

/* Splits "name=value" and checks the name; reports it when unknown. */
static int
attribute(struct parser *ps, const struct span *s, enum part part)
{
	const char *eq = memchr(s->p, '=', s->n);
	const char *where = part == PATH ? "path" : "query";
	size_t nlen, i, index = 0;
	const struct attr *a;
	struct span v;
	uint8_t *d = NULL;
	size_t dn = 0;
	int rc;

	if (s->n == 0)
		return pal_err_set(ps->err, PAL_ERR_FORMAT,
				   "pkcs11 URI: offset %zu: empty %s "
				   "attribute", s->at, where);
	if (eq == NULL)
		return pal_err_set(ps->err, PAL_ERR_FORMAT,
				   "pkcs11 URI: offset %zu: %s attribute "
				   "without '='", s->at, where);
	nlen = (size_t)(eq - s->p);
	for (i = 0; i < nlen; i++)
		if (!name_char_ok((unsigned char)s->p[i]))
			break;
	if (nlen == 0 || i < nlen || nlen > 32)
		return pal_err_set(ps->err, PAL_ERR_FORMAT,
				   "pkcs11 URI: offset %zu: malformed %s "
				   "attribute name", s->at, where);
	a = lookup(s->p, nlen, part, &index);
	if (a == NULL)
		return pal_err_set(ps->err, PAL_ERR_UNSUPPORTED,
				   "pkcs11 URI: offset %zu: unknown %s "
				   "attribute '%.*s'", s->at, where,
				   (int)nlen, s->p);
	if (ps->seen & (1u << index))
		return pal_err_set(ps->err, PAL_ERR_FORMAT,
				   "pkcs11 URI: offset %zu: %s given twice",
				   s->at, a->name);
	ps->seen |= 1u << index;
	v.p = eq + 1;
	v.n = s->n - nlen - 1;
	v.at = s->at + nlen + 1;
	if (v.n == 0)
		return pal_err_set(ps->err, PAL_ERR_FORMAT,
				   "pkcs11 URI: offset %zu: empty %s value",
				   v.at, a->name);
	if (a->kind != K_TEXT && a->kind != K_SECRET && a->kind != K_BYTES &&
	    memchr(v.p, '%', v.n) != NULL)
		return pal_err_set(ps->err, PAL_ERR_FORMAT,
				   "pkcs11 URI: offset %zu: %s must not be "
				   "percent-encoded", v.at, a->name);
	rc = decode(ps, &v, part, a, &d, &dn);
	if (rc == 0)
		rc = store(ps, a, &v, d, dn);
	return rc;
}

/* Parses the attributes of one component, separated by sep. */
static int
component(struct parser *ps, const char *p, size_t n, size_t at, char sep,
	  enum part part)
{
	size_t start = 0, i;
	int rc;

	if (n == 0)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i < n && p[i] != sep)
			continue;
		struct span s = { p + start, i - start, at + start };
		if ((rc = attribute(ps, &s, part)) < 0)
			return rc;
		start = i + 1;
	}
	return 0;
}

int
pal_p11_uri_parse(const char *s, size_t len, struct pal_p11_uri **out,
		  struct pal_err *err)
{
	struct parser ps = { NULL, 0, err };
	const char *q;
	size_t plen;
	int rc;

	*out = NULL;
	if (len > PAL_P11_URI_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "pkcs11 URI longer than %d bytes",
				   PAL_P11_URI_MAX);
	if (len < SCHEME_LEN || memcmp(s, SCHEME, SCHEME_LEN) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "not a pkcs11 URI: it must start with "
				   "\"pkcs11:\"");
	if (memchr(s, '\0', len) != NULL)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "pkcs11 URI contains a NUL byte");
	if ((ps.u = calloc(1, sizeof(*ps.u))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	/* '?' may not appear in the path, so the first one ends it. */
	q = memchr(s + SCHEME_LEN, '?', len - SCHEME_LEN);
	plen = (q != NULL ? (size_t)(q - s) : len) - SCHEME_LEN;
	rc = component(&ps, s + SCHEME_LEN, plen, SCHEME_LEN, ';', PATH);
	if (rc == 0 && q != NULL)
		rc = component(&ps, q + 1, len - SCHEME_LEN - plen - 1,
			       SCHEME_LEN + plen + 1, '&', QUERY);
	if (rc == 0 && ps.u->pin_source != NULL && ps.u->pin_value != NULL)
		rc = pal_err_set(err, PAL_ERR_FORMAT,
				 "pkcs11 URI gives both pin-source and "
				 "pin-value");
	if (rc < 0) {
		pal_p11_uri_free(ps.u);
		return rc;
	}
	*out = ps.u;
	return 0;
}

static void
free_secret(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void
pal_p11_uri_free(struct pal_p11_uri *u)
{
	if (u == NULL)
		return;
	free(u->token);
	free(u->manufacturer);
	free(u->serial);
	free(u->model);
	free(u->slot_description);
	free(u->slot_manufacturer);
	free(u->lib_manufacturer);
	free(u->lib_description);
	free(u->object);
	free(u->id);
	free(u->module_path);
	free(u->module_name);
	free(u->pin_source);
	free_secret(u->pin_value);
	free(u);
}
