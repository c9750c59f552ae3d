/*
 * cli_text.c - printing strings that came from untrusted input (file
 * names, bundle fields, certificate names, error details quoting them).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "palisade/buf.h"
#include "palisade/text.h"

void
cli_put_safe(FILE *fp, const char *s)
{
	struct pal_buf b;
	pal_buf_init(&b, 4 * strlen(s) + 16);
	if (pal_text_escape(&b, s, strlen(s)) == 0 && b.p != NULL)
		fputs((const char *)b.p, fp);
	pal_buf_free(&b);
}
