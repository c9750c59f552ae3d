/*
 * pkcs11_pin.c - the PIN a pkcs11 URI asks for: its pin-value, the file
 * its pin-source names, or the environment.
 *
 * pin-source is read as RFC 7512 describes for files: "file:/path",
 * "file:///path" (an empty or "localhost" authority) or a plain path.  A
 * program source ("|command") and other schemes are refused: running a
 * command named in a URI to obtain a secret is a step too far for a
 * signing tool.  The PIN is held in a pal_buf the caller wipes; the bytes
 * read from the file pass through no other buffer that is not wiped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pkcs11_int.h"

/* PKCS#11 PINs are short; a larger file is not a PIN file. */
#define PIN_MAX 256

/* Length of an RFC 3986 scheme followed by ':' at s, or 0. */
static size_t
scheme_len(const char *s)
{
	size_t i = 0;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	while (s[i] != '\0' && s[i] != ':' &&
	       (strchr("+-.", s[i]) != NULL ||
		(s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		(s[i] >= '0' && s[i] <= '9')))
		i++;
	return s[i] == ':' ? i : 0;
}

/* The file path a pin-source names. */
static int
source_path(const char *src, const char **path, struct pal_err *err)
{
	size_t n = scheme_len(src);

	if (src[0] == '|')
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "pkcs11 URI: pin-source programs (\"|...\") "
				   "are not supported; use a file");
	if (n == 0) {
		*path = src;
		return 0;
	}
	if (n != 4 || strncmp(src, "file", 4) != 0)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "pkcs11 URI: pin-source must be a file: "
				   "URI or a path");
	src += 5;
	if (strncmp(src, "//", 2) == 0) {
		src += 2;
		if (strncmp(src, "localhost/", 10) == 0)
			src += 9;
		if (src[0] != '/')
			return pal_err_set(err, PAL_ERR_UNSUPPORTED,
					   "pkcs11 URI: pin-source file URI "
					   "names a host");
	}
	if (src[0] == '\0')
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "pkcs11 URI: pin-source names no file");
	*path = src;
	return 0;
}

/* Drops one trailing newline (LF or CRLF), as written by echo. */
static void
chop_newline(struct pal_buf *pin)
{
	if (pin->len > 0 && pin->p[pin->len - 1] == '\n') {
		pin->p[--pin->len] = '\0';
		if (pin->len > 0 && pin->p[pin->len - 1] == '\r')
			pin->p[--pin->len] = '\0';
	}
}

static int
read_pin_file(const char *path, struct pal_buf *pin, struct pal_err *err)
{
	uint8_t chunk[PIN_MAX + 1];
	size_t n;
	int rc = 0;
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return pal_err_set(err, PAL_ERR_IO, "PIN file %s: %s", path,
				   strerror(errno));
	/* Unbuffered, so that no copy of the PIN stays in stdio's buffer. */
	setvbuf(f, NULL, _IONBF, 0);
	while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = pal_buf_append(pin, chunk, n);
	OPENSSL_cleanse(chunk, sizeof(chunk));
	if (rc == 0 && ferror(f))
		rc = pal_err_set(err, PAL_ERR_IO, "PIN file %s: read error",
				 path);
	else if (rc < 0)
		rc = pal_err_set(err, PAL_ERR_LIMIT,
				 "PIN file %s: longer than %d bytes", path,
				 PIN_MAX);
	fclose(f);
	if (rc == 0) {
		chop_newline(pin);
		if (pin->len == 0)
			rc = pal_err_set(err, PAL_ERR_FORMAT,
					 "PIN file %s is empty", path);
	}
	return rc;
}

int
pal_p11_pin_get(const struct pal_p11_uri *u, struct pal_buf *pin,
		int *have, struct pal_err *err)
{
	const char *env, *path = NULL;
	int rc = 0;

	pal_buf_init(pin, PIN_MAX);
	*have = 0;
	if (u->pin_value != NULL) {
		rc = pal_buf_puts(pin, u->pin_value);
	} else if (u->pin_source != NULL) {
		rc = source_path(u->pin_source, &path, err);
		if (rc == 0)
			rc = read_pin_file(path, pin, err);
		if (rc < 0)
			return rc;
	} else if ((env = getenv(PAL_P11_PIN_ENV)) != NULL && *env != '\0') {
		rc = pal_buf_puts(pin, env);
	} else {
		return 0;
	}
	if (rc < 0)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "PIN longer than %d bytes", PIN_MAX);
	*have = 1;
	return 0;
}
