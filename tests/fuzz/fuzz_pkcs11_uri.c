/*
 * fuzz_pkcs11_uri.c - the RFC 7512 URI parser from raw bytes.  A URI that
 * parses must satisfy what pkcs11.h promises of the result: NUL-free,
 * non-empty strings within their field's limit, an id when id_len says so.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/pkcs11.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const char *s, size_t max)
{
	if (s != NULL && (s[0] == '\0' || strlen(s) > max))
		abort();
}

static void
check(const struct pal_p11_uri *u)
{
	check_text(u->token, 32);
	check_text(u->manufacturer, 32);
	check_text(u->serial, 16);
	check_text(u->model, 16);
	check_text(u->slot_description, 64);
	check_text(u->slot_manufacturer, 32);
	check_text(u->lib_manufacturer, 32);
	check_text(u->lib_description, 32);
	check_text(u->object, 255);
	check_text(u->module_path, 4095);
	check_text(u->module_name, 255);
	check_text(u->pin_source, 4095);
	check_text(u->pin_value, 255);
	if ((u->id == NULL) != (u->id_len == 0) || u->id_len > 255)
		abort();
	if (u->has_lib_version && (u->lib_major > 255 || u->lib_minor > 255))
		abort();
	if (u->pin_source != NULL && u->pin_value != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_p11_uri *u = NULL;
	struct pal_err err;
	int rc;

	rc = pal_p11_uri_parse((const char *)data, size, &u, &err);
	if ((rc == 0) != (u != NULL) || (rc < 0 && err.code != rc))
		abort();
	if (u != NULL)
		check(u);
	pal_p11_uri_free(u);
	return 0;
}
