/*
 * fuzz_sigstore_material.c - pal_sigstore_verify on a fuzzed Sigstore
 * bundle against the fixed public-good trusted root: the bundle's
 * verificationMaterial goes to the verifier as it is, the envelope's
 * payload and signature decoded when they decode and empty otherwise.
 * Nothing here may crash, leak or read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "palisade/encoding.h"
#include "palisade/sigstore.h"
#include "sigstore_public_good.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pal_sigstore_root *root;

static void
decode(json_t *v, uint8_t **out, size_t *len)
{
	const char *s = json_string_value(v);

	*out = NULL;
	*len = 0;
	if (s != NULL)
		pal_base64_decode(s, json_string_length(v), out, len, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pal_sigstore_want want = {
		"stefanb@us.ibm.com", "https://sigstore.verify.ibm.com/oauth2",
	};
	struct pal_sigstore_result res;
	uint8_t *payload = NULL, *sig = NULL;
	size_t payload_len = 0, sig_len = 0;

	if (root == NULL &&
	    pal_sigstore_root_parse((const uint8_t *)sigstore_public_good,
				    strlen(sigstore_public_good), &root,
				    NULL) != 0)
		abort();
	json_t *b = json_loadb((const char *)data, size,
			       JSON_REJECT_DUPLICATES, NULL);
	if (b == NULL)
		return 0;
	json_t *env = json_object_get(b, "dsseEnvelope");
	const char *type = json_string_value(json_object_get(env,
							     "payloadType"));
	decode(json_object_get(env, "payload"), &payload, &payload_len);
	decode(json_object_get(json_array_get(json_object_get(env,
		"signatures"), 0), "sig"), &sig, &sig_len);
	pal_sigstore_verify(root, json_object_get(b, "verificationMaterial"),
			    type ? type : "", payload ? payload :
			    (const uint8_t *)"", payload_len,
			    sig ? sig : (const uint8_t *)"", sig_len, &want,
			    &res, NULL);
	free(payload);
	free(sig);
	json_decref(b);
	return 0;
}
