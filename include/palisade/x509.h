/*
 * x509.h - loading certificates and verifying a chain to trusted roots.
 *
 * Thin contract over OpenSSL's verifier so that every caller checks the same
 * things the same way: the chain must reach one of the given roots, every
 * certificate must be valid at the given time, and the failure names the
 * certificate (depth and subject) and OpenSSL's reason.
 */
#ifndef PALISADE_X509_H
#define PALISADE_X509_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "palisade/error.h"

/*
 * Reads every certificate in a PEM file (or one DER certificate) into a new
 * stack owned by the caller (sk_X509_pop_free(st, X509_free)).  An empty
 * file or a file with anything but certificates is an error.
 */
int pal_x509_load_file(const char *path, STACK_OF(X509) **out,
		       struct pal_err *err);

/* Parses one DER certificate; the whole input must be consumed. */
int pal_x509_from_der(const uint8_t *der, size_t len, X509 **out,
		      struct pal_err *err);

/*
 * Verifies leaf up to one of roots, using intermediates (may be NULL) as
 * untrusted helpers.  at is the verification time; 0 means now.  Returns 0
 * or PAL_ERR_VERIFY with the reason in err.
 */
int pal_x509_verify_chain(X509 *leaf, STACK_OF(X509) *intermediates,
			  STACK_OF(X509) *roots, time_t at,
			  struct pal_err *err);

/*
 * Checks that leaf may sign code: extendedKeyUsage, when present, includes
 * codeSigning, and keyUsage, when present, includes digitalSignature.
 */
int pal_x509_check_codesign(X509 *leaf, struct pal_err *err);

/* One-line subject of cert ("CN=...,O=...") into out (size n). */
void pal_x509_subject(X509 *cert, char *out, size_t n);

#endif
