/*
 * log_cosign.c - a local witness for a log directory, and checking a
 * log's checkpoint against a witness policy.
 *
 * The witness keeps, in a state file of its own, the size and root of the
 * last checkpoint it cosigned, and cosigns a newer one only when the log
 * proves it consistent with that one: a log cannot get a witness to vouch
 * for two different histories.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "palisade/cosig.h"
#include "palisade/encoding.h"
#include "palisade/file.h"
#include "palisade/note.h"
#include "palisade/note_sign.h"
#include "tlog_int.h"

#define NOTE_FILE_MAX (64 * 1024)

struct signed_cp {
	uint8_t *data;
	size_t len;
	struct pal_note *note;
	struct pal_checkpoint *cp;
};

static void
signed_cp_free(struct signed_cp *s)
{
	pal_checkpoint_free(s->cp);
	pal_note_free(s->note);
	free(s->data);
}

/* dir's latest checkpoint, its signature checked with dir/log.vkey. */
static int
load_latest(const char *dir, struct signed_cp *s, struct pal_err *err)
{
	char path[4200];
	uint8_t *vk = NULL;
	size_t vlen = 0;
	struct pal_note_verifier *v = NULL;
	snprintf(path, sizeof(path), "%s/log.vkey", dir);
	int rc = pal_file_read(path, 4096, &vk, &vlen, err);
	while (rc == 0 && vlen > 0 && vk[vlen - 1] == '\n')
		vk[--vlen] = '\0';
	if (rc == 0)
		rc = pal_note_verifier_parse((const char *)vk, vlen, &v, err);
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	if (rc == 0)
		rc = pal_file_read(path, NOTE_FILE_MAX, &s->data, &s->len, err);
	if (rc == 0)
		rc = pal_note_parse(s->data, s->len, &s->note, err);
	if (rc == 0)
		rc = pal_note_verify(s->note, &v, 1, NULL, err);
	if (rc == 0)
		rc = pal_checkpoint_parse(s->note->text, s->note->text_len,
					  &s->cp, err);
	pal_note_verifier_free(v);
	free(vk);
	return rc;
}

/* "size base64(root)\n" of the last cosigned checkpoint, if any. */
static int
read_state(const char *state, uint64_t *size,
	   uint8_t root[PAL_MERKLE_HASH_LEN], int *have, struct pal_err *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	*have = 0;
	struct stat st;
	if (stat(state, &st) != 0 && errno == ENOENT)
		return 0;		/* a new witness */
	int rc = pal_file_read(state, 256, &data, &len, err);
	if (rc < 0)
		return rc;
	char *sp = memchr(data, ' ', len);
	char *nl = memchr(data, '\n', len);
	uint8_t *r = NULL;
	size_t rl = 0;
	char *end = NULL;
	if (sp == NULL || nl == NULL || nl < sp)
		rc = pal_err_set(err, PAL_ERR_FORMAT, "%s: not a witness "
				 "state", state);
	if (rc == 0) {
		errno = 0;
		*size = strtoull((const char *)data, &end, 10);
		if (errno != 0 || end != sp)
			rc = pal_err_set(err, PAL_ERR_FORMAT, "%s: bad size",
					 state);
	}
	if (rc == 0)
		rc = pal_base64_decode(sp + 1, (size_t)(nl - sp - 1), &r, &rl,
				       err);
	if (rc == 0 && rl != PAL_MERKLE_HASH_LEN)
		rc = pal_err_set(err, PAL_ERR_FORMAT, "%s: bad root", state);
	if (rc == 0) {
		memcpy(root, r, PAL_MERKLE_HASH_LEN);
		*have = 1;
	}
	free(r);
	free(data);
	return rc;
}

static int
write_state(const char *state, const struct pal_checkpoint *cp,
	    struct pal_err *err)
{
	struct pal_buf b;
	pal_buf_init(&b, 256);
	int rc = pal_buf_printf(&b, "%" PRIu64 " ", cp->size);
	if (rc == 0)
		rc = pal_base64_encode(cp->root, PAL_MERKLE_HASH_LEN, &b);
	if (rc == 0)
		rc = pal_buf_putc(&b, '\n');
	if (rc == 0)
		rc = pal_file_write_atomic(state, b.p, b.len, 0600, err);
	pal_buf_free(&b);
	return rc;
}

int
pal_log_cosign(const char *dir, struct pal_note_signer *witness,
	       const char *state, struct pal_err *err)
{
	struct signed_cp s = { 0 };
	uint64_t old_size = 0;
	uint8_t old_root[PAL_MERKLE_HASH_LEN];
	int have = 0;
	int rc = load_latest(dir, &s, err);
	if (rc == 0)
		rc = read_state(state, &old_size, old_root, &have, err);
	if (rc == 0 && have && old_size > s.cp->size)
		rc = pal_err_set(err, PAL_ERR_VERIFY,
				 "the log shrank: it is at %" PRIu64 " but "
				 "this witness cosigned %" PRIu64, s.cp->size,
				 old_size);
	if (rc == 0 && have && old_size > 0) {
		/* The log's own proof, checked against our old root. */
		uint64_t to = 0;
		uint8_t proof[PAL_MERKLE_MAX_PROOF][PAL_MERKLE_HASH_LEN];
		uint8_t r1[PAL_MERKLE_HASH_LEN], r2[PAL_MERKLE_HASH_LEN];
		size_t n = 0;
		rc = pal_log_consistency(dir, old_size, &to, proof, &n, r1, r2,
					 err);
		if (rc == 0 && (to != s.cp->size ||
				memcmp(r1, old_root, sizeof(r1)) != 0 ||
				memcmp(r2, s.cp->root, sizeof(r2)) != 0))
			rc = pal_err_set(err, PAL_ERR_VERIFY,
					 "the log is not consistent with the "
					 "checkpoint of size %" PRIu64 " this "
					 "witness cosigned", old_size);
	}
	struct pal_buf out;
	pal_buf_init(&out, NOTE_FILE_MAX);
	if (rc == 0 && pal_buf_append(&out, s.data, s.len) < 0)
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = pal_cosign(witness, s.note->text, s.note->text_len,
				(uint64_t)time(NULL), &out, err);
	char path[4200];
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	if (rc == 0)
		rc = pal_file_write_atomic(path, out.p, out.len, 0644, err);
	if (rc == 0)
		rc = write_state(state, s.cp, err);
	pal_buf_free(&out);
	signed_cp_free(&s);
	return rc;
}

int
pal_log_check_witnesses(const char *dir,
			const struct pal_witness_policy *policy,
			struct pal_err *err)
{
	struct signed_cp s = { 0 };
	int rc = load_latest(dir, &s, err);
	if (rc == 0)
		rc = pal_witness_policy_check(policy, s.note, s.cp, NULL, err);
	signed_cp_free(&s);
	return rc;
}
