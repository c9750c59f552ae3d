/*
 * log_key.c - the log's Ed25519 signing key: a 0600 file in the log's
 * directory, or a key on a PKCS#11 token.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "palisade/file.h"
#include "palisade/note_sign.h"
#include "palisade/pkcs11.h"
#include "palisade/tlog.h"
#include "tlog_int.h"

#define URI_MAX 8192

static int
sign_note(void *ctx, const uint8_t *text, size_t len, struct pal_buf *note,
	  struct pal_err *err)
{
	struct pal_note_signer *s = ctx;
	return pal_note_sign(text, len, &s, 1, note, err);
}

struct pal_log_signer
pal_log_note_signer(struct pal_note_signer *s)
{
	return (struct pal_log_signer){ .sign = sign_note, .ctx = s };
}

static int
write_new(const char *dir, const char *name, const char *text, mode_t mode,
	  struct pal_err *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
				   strerror(errno));
	size_t n = strlen(text);
	int rc = write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1 &&
		fsync(fd) == 0 ? 0 :
		pal_err_set(err, PAL_ERR_IO, "%s: %s", path, strerror(errno));
	close(fd);
	return rc;
}

/* A new log goes into a new or empty directory only. */
static int
dir_is_empty(const char *dir, struct pal_err *err)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", dir,
				   strerror(errno));
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			rc = pal_err_set(err, PAL_ERR_INVALID,
					 "%s is not empty%s", dir,
					 strcmp(e->d_name, "checkpoint") == 0 ?
					 ": it already holds a log" : "");
	closedir(d);
	return rc;
}

int
pal_log_init(const char *dir, const char *origin, const char *pkcs11_uri,
	     struct pal_err *err)
{
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", dir,
				   strerror(errno));
	int rc = dir_is_empty(dir, err);
	if (rc < 0)
		return rc;
	struct pal_note_signer *s = NULL;
	char *skey = NULL, *vkey = NULL;
	if (pkcs11_uri != NULL && strstr(pkcs11_uri, "pin-value=") != NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "the URI would be stored with its PIN: give "
				   "the PIN with pin-source or "
				   "PALISADE_PKCS11_PIN");
	if (pkcs11_uri != NULL) {
		/* The key is made on the token; it never leaves it. */
		rc = pal_p11_keygen(pkcs11_uri, "Ed25519", NULL, err);
		if (rc == 0)
			rc = pal_note_signer_from_pkcs11(pkcs11_uri, origin,
							 &s, err);
		if (rc == 0)
			rc = pal_note_signer_vkey(s, &vkey, err);
		if (rc == 0)
			rc = write_new(dir, "log.key-uri", pkcs11_uri, 0600,
				       err);
	} else {
		rc = pal_note_key_generate(origin, &skey, &vkey, err);
		if (rc == 0)
			rc = write_new(dir, "log.key", skey, 0600, err);
		if (rc == 0)
			rc = pal_note_signer_from_skey(skey, strlen(skey), &s,
						       err);
	}
	if (rc == 0)
		rc = write_new(dir, "log.vkey", vkey, 0644, err);
	if (rc == 0) {
		struct pal_log_signer ls = pal_log_note_signer(s);
		rc = pal_log_create(dir, origin, &ls, err);
	}
	pal_note_skey_free(skey);
	free(vkey);
	pal_note_signer_free(s);
	return rc;
}

int
pal_log_key_load(const char *dir, struct pal_note_signer **out,
		 struct pal_err *err)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s/log.key", dir);
	if (stat(path, &st) == 0)
		return pal_note_signer_load(path, out, err);
	snprintf(path, sizeof(path), "%s/log.key-uri", dir);
	uint8_t *uri = NULL;
	size_t len = 0;
	int rc = pal_file_read(path, URI_MAX, &uri, &len, err);
	if (rc < 0)
		return pal_err_wrap(err, rc, "%s has no log.key: ", dir);
	while (len > 0 && (uri[len - 1] == '\n' || uri[len - 1] == '\r'))
		uri[--len] = '\0';
	char *origin = NULL;
	rc = pal_log_origin(dir, &origin, err);
	if (rc == 0)
		rc = pal_note_signer_from_pkcs11((const char *)uri, origin, out,
						 err);
	free(origin);
	OPENSSL_cleanse(uri, len);
	free(uri);
	return rc;
}

/* The signer lives as long as the log: freed by a wrapper on close. */
int
pal_log_open_dir(const char *dir, struct pal_log **out, struct pal_err *err)
{
	struct pal_note_signer *s = NULL;
	int rc = pal_log_key_load(dir, &s, err);
	if (rc < 0)
		return rc;
	struct pal_log_signer ls = pal_log_note_signer(s);
	rc = pal_log_open(dir, &ls, out, err);
	if (rc < 0) {
		pal_note_signer_free(s);
		return rc;
	}
	pal_log_own_signer(*out, s);
	return 0;
}
