/*
 * config_int.h - what the files of the gateway's configuration reader
 * share (config*.c): the reader's state, typed values with the key path
 * in their messages, the files a configuration names, and each section's
 * reader.
 */
#ifndef PAL_GW_CONFIG_INT_H
#define PAL_GW_CONFIG_INT_H

#include "palisade/gwconfig.h"
#include "palisade/yaml_strict.h"

/* The reader's state (struct pal_yaml's ctx). */
struct gwc {
	struct pal_gw_config *cfg;
	const char *base_dir;		/* NULL: relative paths stay so */
	unsigned flags;			/* PAL_GW_CONFIG_CHECK_FILES */
	/* What the checks across sections need, with where it was. */
	yaml_mark_t admin_address_at;
	int have_prompt;
	yaml_mark_t prompt_at;
	int have_strip;
	int catch_all;			/* 1 + index of the upstream without
					   models, or 0 */
	yaml_mark_t role_tokens_at[PAL_GW_MAX_ROLES];
	yaml_mark_t clients_at;
	yaml_mark_t client_role_at[PAL_GW_MAX_CLIENTS];
};

#define GWC(y) ((struct gwc *)(y)->ctx)
#define NF(f) PAL_YAML_NFIELDS(f)

/* ---------------------------------------------------------------------
 * Values (config.c).  Messages start with the key path.
 */

int gwc_u32(struct pal_yaml *y, uint32_t min, uint32_t max, uint32_t *out);
int gwc_string(struct pal_yaml *y, size_t max, char **out);

/* A name of 1 to PAL_GW_NAME_MAX bytes of [A-Za-z0-9_.-]. */
int gwc_name(struct pal_yaml *y, char **out);

/* A refuse|strip|allow value. */
int gwc_action(struct pal_yaml *y, enum pal_gw_action *out);

/* ---------------------------------------------------------------------
 * Files (config_files.c).
 */

enum gwc_file {
	GWC_FILE,		/* a readable regular file, not empty */
	GWC_PRIVATE_KEY,	/* as GWC_FILE, and no access for others */
	GWC_DIR,		/* a directory */
	GWC_STORE,		/* a file that may not exist yet: its
				   directory must; if it exists, a regular
				   file others cannot write */
};

/*
 * The current scalar as a path, resolved against the base directory
 * and, with PAL_GW_CONFIG_CHECK_FILES, checked to be of kind.  Caller
 * frees *out.
 */
int gwc_path(struct pal_yaml *y, enum gwc_file kind, char **out);

/* base_dir/path, or path when absolute or base_dir is NULL or "". */
int gwc_resolve(const char *base_dir, const char *path, char **out);

/* ---------------------------------------------------------------------
 * Sections.
 */

/* config_listen.c */
int gwc_parse_listen(struct pal_yaml *y, void *obj);
int gwc_parse_admin(struct pal_yaml *y, void *obj);
/* The text "a.b.c.d:port" or "[v6]:port" (NUL-terminated) into *a. */
int gwc_addr_parse(const char *s, struct pal_gw_addr *a);
/* 1 if a and b cannot both be bound (same port, same or any address). */
int gwc_addr_clash(const struct pal_gw_addr *a, const struct pal_gw_addr *b);

/* config_upstream.c */
int gwc_parse_upstreams(struct pal_yaml *y, void *obj);
/*
 * "http://<loopback literal>:port[/path]" (webhook set: a path is
 * allowed) or, for upstreams, "unix:<path>" into *e.  0 or a message
 * about the current scalar.
 */
int gwc_endpoint(struct pal_yaml *y, const char *url, int webhook,
		 struct pal_gw_endpoint *e);

/* config_roles.c */
int gwc_parse_roles(struct pal_yaml *y, void *obj);
/*
 * A limits mapping (requests_per_minute, tokens_per_minute, burst) into
 * *l; *set (when not NULL) gets the PAL_GW_LIMIT_* bit of each key it
 * held.  Roles and clients read theirs with it.
 */
int gwc_parse_limits(struct pal_yaml *y, struct pal_gw_limits *l,
		     unsigned *set);
/* "HH:MM-HH:MM" into minutes after midnight; "24:00" ends only. */
int gwc_hours_parse(const char *s, size_t n, uint16_t *from, uint16_t *to);

/* config_clients.c: the section, its checks against the others, and
 * freeing it. */
int gwc_parse_clients(struct pal_yaml *y, void *obj);
int gwc_check_clients(struct pal_yaml *y);
void gwc_clients_free(struct pal_gw_config *c);

/* config_policy.c */
int gwc_parse_keys(struct pal_yaml *y, void *obj);
int gwc_parse_requests(struct pal_yaml *y, void *obj);
int gwc_parse_responses(struct pal_yaml *y, void *obj);
int gwc_parse_injection(struct pal_yaml *y, void *obj);
int gwc_parse_abuse(struct pal_yaml *y, void *obj);
int gwc_parse_log(struct pal_yaml *y, void *obj);

/* Sets every default of docs/config.md in a zeroed configuration. */
void gwc_defaults(struct pal_gw_config *cfg);

#endif
