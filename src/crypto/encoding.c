/*
 * encoding.c - hex and base64 codecs, constant-time comparison.
 *
 * Base64 is decoded by hand rather than with EVP_DecodeBlock, which accepts
 * whitespace, ignores trailing garbage after padding in some versions and
 * returns padded lengths; a signature bundle must mean exactly one thing.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "palisade/encoding.h"

static const char hexdig[] = "0123456789abcdef";
static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
pal_hex_encode(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[in[i] >> 4];
		out[2 * i + 1] = hexdig[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int
pal_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
pal_hex_decode(const char *s, size_t len, uint8_t **out, size_t *out_len,
	       struct pal_err *err)
{
	if (len % 2 != 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "hex string has odd length %zu", len);
	uint8_t *p = malloc(len / 2 + 1);
	if (p == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < len; i += 2) {
		int hi = pal_hex_value(s[i]), lo = pal_hex_value(s[i + 1]);
		if (hi < 0 || lo < 0) {
			free(p);
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "not a hex digit at offset %zu",
					   hi < 0 ? i : i + 1);
		}
		p[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*out = p;
	*out_len = len / 2;
	return 0;
}

int
pal_base64_encode(const uint8_t *in, size_t n, struct pal_buf *b)
{
	char q[4];
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		q[0] = b64[v >> 18 & 63];
		q[1] = b64[v >> 12 & 63];
		q[2] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		q[3] = i + 2 < n ? b64[v & 63] : '=';
		int rc = pal_buf_append(b, q, 4);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
pal_base64_decode(const char *s, size_t len, uint8_t **out, size_t *out_len,
		  struct pal_err *err)
{
	if (len % 4 != 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "base64 length %zu is not a multiple of 4",
				   len);
	size_t pad = 0;
	if (len > 0 && s[len - 1] == '=')
		pad = (len > 1 && s[len - 2] == '=') ? 2 : 1;
	uint8_t *p = malloc(len / 4 * 3 + 1);
	if (p == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	size_t o = 0;
	for (size_t i = 0; i < len; i += 4) {
		int last = i + 4 == len;
		uint32_t v = 0;
		for (size_t k = 0; k < 4; k++) {
			int d = b64val(s[i + k]);
			if (d < 0 && !(last && s[i + k] == '=' &&
				       k >= 4 - pad)) {
				free(p);
				return pal_err_set(err, PAL_ERR_FORMAT,
						   "invalid base64 character "
						   "at offset %zu", i + k);
			}
			v = v << 6 | (uint32_t)(d < 0 ? 0 : d);
		}
		size_t emit = last ? 3 - pad : 3;
		/* Canonical: the bits dropped by padding must be zero. */
		if ((emit == 2 && (v & 0xff)) || (emit == 1 && (v & 0xffff))) {
			free(p);
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "non-canonical base64 padding");
		}
		p[o++] = (uint8_t)(v >> 16);
		if (emit > 1)
			p[o++] = (uint8_t)(v >> 8);
		if (emit > 2)
			p[o++] = (uint8_t)v;
	}
	*out = p;
	*out_len = o;
	return 0;
}

int
pal_decimal_parse(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
pal_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
