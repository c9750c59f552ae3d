/* Placeholder until pkcs11.c lands; removed by that commit. */
#include "palisade/signer.h"
int
pal_signer_from_pkcs11(const char *uri, struct pal_signer **out,
		       struct pal_err *err)
{
	(void)uri;
	(void)out;
	return pal_err_set(err, PAL_ERR_UNSUPPORTED, "PKCS#11 not built");
}
