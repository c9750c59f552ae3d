/*
 * payload_parts.c - the plaintext of a sealed payload: named parts
 * (docs/formats/payload.md, "The plaintext").
 *
 * The parse reads bytes that passed the GCM tag, but those are still
 * untrusted: anyone with the operator's public key can seal anything.
 * So it is strict and bounded like every other parser here: the cursor
 * only, names checked byte by byte, unique, no trailing bytes.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "palisade/cursor.h"
#include "payload_int.h"

static int
name_ok(const char *s, size_t n)
{
	if (n == 0 || n > PAL_PAYLOAD_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static void
put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* Checks parts as pal_payload_seal takes them; the framed size in *len. */
static int
check_parts(const struct pal_payload_part *parts, size_t n, size_t *len,
	    struct pal_err *err)
{
	size_t sum = 0;

	if (n > PAL_PAYLOAD_PARTS_MAX)
		return pal_err_set(err, PAL_ERR_INVALID, "%zu parts: at most "
				   "%d", n, PAL_PAYLOAD_PARTS_MAX);
	for (size_t i = 0; i < n; i++) {
		const struct pal_payload_part *p = &parts[i];
		size_t nl = p->name != NULL ? strlen(p->name) : 0;
		if (!name_ok(p->name, nl))
			return pal_err_set(err, PAL_ERR_INVALID, "part %zu: "
					   "the name must be 1 to %d bytes "
					   "of a-z 0-9 _ -", i,
					   PAL_PAYLOAD_NAME_MAX);
		for (size_t j = 0; j < i; j++)
			if (strcmp(parts[j].name, p->name) == 0)
				return pal_err_set(err, PAL_ERR_INVALID,
						   "part '%s' twice", p->name);
		if ((p->data == NULL && p->len > 0) || p->len > p->total ||
		    p->len > UINT32_MAX)
			return pal_err_set(err, PAL_ERR_INVALID, "part '%s': "
					   "%zu bytes of %llu", p->name,
					   p->len,
					   (unsigned long long)p->total);
		if (p->len > PAL_PAYLOAD_PLAIN_MAX - sum ||
		    PL_PART_OVERHEAD(nl) > PAL_PAYLOAD_PLAIN_MAX - sum -
						  p->len)
			return pal_err_set(err, PAL_ERR_LIMIT, "the parts "
					   "exceed %u bytes",
					   PAL_PAYLOAD_PLAIN_MAX);
		sum += p->len + PL_PART_OVERHEAD(nl);
	}
	*len = sum;
	return 0;
}

size_t
pl_parts_len(const struct pal_payload_part *parts, size_t n, int *rc,
	     struct pal_err *err)
{
	size_t len = 0;

	*rc = check_parts(parts, n, &len, err);
	return *rc < 0 ? 0 : len;
}

int
pal_payload_parts_encode(const struct pal_payload_part *parts, size_t n,
			 struct pal_buf *out, struct pal_err *err)
{
	size_t len, start = out->len;
	uint8_t head[PL_PART_OVERHEAD(PAL_PAYLOAD_NAME_MAX)];
	int rc = check_parts(parts, n, &len, err);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t nl = strlen(parts[i].name);
		head[0] = (uint8_t)nl;
		memcpy(head + 1, parts[i].name, nl);
		put_be(head + 1 + nl, parts[i].total, 8);
		put_be(head + 1 + nl + 8, parts[i].len, 4);
		rc = pal_buf_append(out, head, PL_PART_OVERHEAD(nl));
		if (rc == 0 && parts[i].len > 0)
			rc = pal_buf_append(out, parts[i].data, parts[i].len);
		if (rc < 0)
			pal_err_set(err, rc, "the parts exceed the buffer");
	}
	if (rc < 0 && out->p != NULL) {
		OPENSSL_cleanse(out->p + start, out->len - start);
		out->len = start;
		out->p[start] = 0;
	}
	return rc;
}

static int
get_be(struct pal_cur *c, size_t n, uint64_t *v)
{
	const uint8_t *p;
	int rc = pal_cur_bytes(c, n, &p);

	*v = 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		*v = *v << 8 | p[i];
	return rc;
}

/* One part at the cursor into v; names earlier views to refuse repeats. */
static int
parse_part(struct pal_cur *c, struct pal_payload_view *v, size_t i,
	   struct pal_err *err)
{
	const uint8_t *name;
	uint64_t total, len;
	uint8_t nl;
	size_t at = c->off;

	if (pal_cur_u8(c, &nl) < 0 || pal_cur_bytes(c, nl, &name) < 0 ||
	    get_be(c, 8, &total) < 0 || get_be(c, 4, &len) < 0)
		return pal_err_set(err, PAL_ERR_TRUNCATED, "part %zu at offset "
				   "%zu: the plaintext ends inside its "
				   "header", i, at);
	if (!name_ok((const char *)name, nl))
		return pal_err_set(err, PAL_ERR_FORMAT, "part %zu at offset "
				   "%zu: the name is not 1 to %d bytes of "
				   "a-z 0-9 _ -", i, at, PAL_PAYLOAD_NAME_MAX);
	memcpy(v[i].name, name, nl);
	v[i].name[nl] = '\0';
	for (size_t j = 0; j < i; j++)
		if (strcmp(v[j].name, v[i].name) == 0)
			return pal_err_set(err, PAL_ERR_FORMAT, "part '%s' "
					   "twice", v[i].name);
	if (len > total)
		return pal_err_set(err, PAL_ERR_FORMAT, "part '%s': %llu bytes "
				   "of a body of %llu", v[i].name,
				   (unsigned long long)len,
				   (unsigned long long)total);
	if (pal_cur_bytes(c, (size_t)len, &v[i].data) < 0)
		return pal_err_set(err, PAL_ERR_TRUNCATED, "part '%s': %llu "
				   "bytes announced, %zu left", v[i].name,
				   (unsigned long long)len, pal_cur_left(c));
	v[i].len = (size_t)len;
	v[i].total = total;
	if (len == 0)
		v[i].data = NULL;
	return 0;
}

int
pal_payload_parts_parse(const uint8_t *p, size_t len,
			struct pal_payload_view *v, size_t max, size_t *n,
			struct pal_err *err)
{
	struct pal_cur c;
	size_t i = 0;
	int rc = 0;

	*n = 0;
	if (len > PAL_PAYLOAD_PLAIN_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT, "a plaintext of %zu "
				   "bytes: at most %u", len,
				   PAL_PAYLOAD_PLAIN_MAX);
	pal_cur_init(&c, p, len);
	while (rc == 0 && pal_cur_left(&c) > 0) {
		if (i == max || i == PAL_PAYLOAD_PARTS_MAX)
			return pal_err_set(err, PAL_ERR_FORMAT, "more than %zu "
					   "parts", i);
		rc = parse_part(&c, v, i++, err);
	}
	if (rc == 0)
		*n = i;
	return rc;
}
