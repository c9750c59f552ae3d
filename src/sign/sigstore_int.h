/*
 * sigstore_int.h - what the Sigstore verification files share: the parsed
 * trusted root, the parsed verification material, strict JSON accessors
 * and the individual checks that sigstore.c puts together.
 */
#ifndef PAL_SIGSTORE_INT_H
#define PAL_SIGSTORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "palisade/error.h"
#include "palisade/merkle.h"
#include "palisade/sigstore.h"

#define SS_MAX_LOGS 32		/* tlogs, ctlogs, CAs, TSAs in a root */
#define SS_MAX_CHAIN 8		/* certificates in one chain */
#define SS_MAX_BODY (256 * 1024)	/* a decoded canonicalized body */
#define SS_MAX_CHECKPOINT (64 * 1024)
#define SS_MAX_TIMESTAMP (64 * 1024)	/* one DER RFC 3161 response */
#define SS_MAX_CERT (64 * 1024)
#define SS_NAME_MAX 256
#define SS_TIME_OPEN INT64_MAX	/* validFor without an end */

/* A transparency log or CT log of the trusted root. */
struct ss_log {
	uint8_t id[32];		/* logId.keyId */
	EVP_PKEY *key;		/* NULL when its keyDetails are unsupported */
	int64_t start, end;	/* publicKey.validFor, inclusive */
	char name[SS_NAME_MAX];	/* host of baseUrl: the checkpoint key name */
};

/* A Fulcio CA or a TSA: its chain (leafmost first, root last). */
struct ss_ca {
	STACK_OF(X509) *certs;
	int64_t start, end;
};

struct pal_sigstore_root {
	struct ss_log tlogs[SS_MAX_LOGS], ctlogs[SS_MAX_LOGS];
	struct ss_ca cas[SS_MAX_LOGS], tsas[SS_MAX_LOGS];
	size_t n_tlogs, n_ctlogs, n_cas, n_tsas;
};

struct ss_entry {
	uint64_t log_index;
	int64_t integrated_time;
	uint8_t log_id[32];
	char kind[16], version[16];
	uint8_t *body;		/* decoded canonicalizedBody */
	size_t body_len;
	uint8_t *set;		/* inclusionPromise; NULL when absent */
	size_t set_len;
	uint64_t proof_index, tree_size;
	uint8_t root[PAL_MERKLE_HASH_LEN];
	uint8_t (*hashes)[PAL_MERKLE_HASH_LEN];
	size_t n_hashes;
	char *checkpoint;	/* the signed note, NUL-terminated */
	size_t checkpoint_len;
};

struct ss_blob {
	uint8_t *p;
	size_t len;
};

struct ss_material {
	X509 *leaf;
	struct ss_entry entries[PAL_SIGSTORE_MAX_ENTRIES];
	size_t n_entries;
	struct ss_blob tsts[PAL_SIGSTORE_MAX_TIMESTAMPS];
	size_t n_tsts;
};

/* The envelope under verification. */
struct ss_envelope {
	const char *payload_type;
	const uint8_t *payload;
	size_t payload_len;
	const uint8_t *sig;
	size_t sig_len;
};

/* sigstore_json.c: strict accessors; path names the field in errors. */
int ss_json_keys(json_t *obj, const char *const *allowed, const char *path,
		 struct pal_err *err);
int ss_json_obj(json_t *parent, const char *key, int required,
		json_t **out, const char *path, struct pal_err *err);
int ss_json_array(json_t *parent, const char *key, size_t max,
		  json_t **out, const char *path, struct pal_err *err);
int ss_json_str(json_t *parent, const char *key, size_t max,
		const char **out, const char *path, struct pal_err *err);
int ss_json_b64(json_t *v, size_t max, uint8_t **out, size_t *len,
		const char *path, struct pal_err *err);
int ss_json_b64_field(json_t *parent, const char *key, size_t max,
		      uint8_t **out, size_t *len, const char *path,
		      struct pal_err *err);
int ss_json_hash(json_t *v, uint8_t out[32], const char *path,
		 struct pal_err *err);
int ss_json_u64(json_t *parent, const char *key, uint64_t max,
		uint64_t *out, const char *path, struct pal_err *err);
int ss_json_time(json_t *parent, const char *key, int64_t *out,
		 const char *path, struct pal_err *err);
void ss_format_time(int64_t t, char out[32]);
/* Formats a field path for errors; a path too long is cut with "...". */
void ss_pathf(char *out, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* sigstore_material.c */
int ss_material_parse(json_t *vm, struct ss_material *m,
		      struct pal_err *err);
void ss_material_clear(struct ss_material *m);

/* sigstore_tlog.c: one entry, all of it; sets *promised when the SET held. */
int ss_tlog_verify(const struct pal_sigstore_root *root,
		   const struct ss_entry *e, X509 *leaf,
		   const struct ss_envelope *env, int *promised,
		   struct pal_err *err);

/* sigstore_cert.c */
int ss_cert_chain(const struct pal_sigstore_root *root, X509 *leaf,
		  int64_t at, X509 **issuer, struct pal_err *err);
int ss_cert_identity(X509 *leaf, const struct pal_sigstore_want *want,
		     struct pal_sigstore_result *res, struct pal_err *err);

/* sigstore_sct.c */
int ss_sct_verify(const struct pal_sigstore_root *root, X509 *leaf,
		  X509 *issuer, struct pal_err *err);

/* sigstore_tsa.c: one RFC 3161 response over sig; its time in *at. */
int ss_tsa_verify(const struct pal_sigstore_root *root,
		  const struct ss_blob *tst, const uint8_t *sig,
		  size_t sig_len, int64_t *at, struct pal_err *err);

#endif
