/*
 * test_gwconfig.c - the gateway's configuration (gwconfig.h): the
 * complete example of docs/config.md (tests/data/gateway/full.yaml)
 * loaded from a directory made here with the files it names, every value
 * checked; the defaults of a minimal file and of the built-in
 * configuration; then every kind of mistake, each with the
 * file:line:column and key path it must be reported at; the files a
 * configuration names, checked when it loads; limits on lengths and
 * counts; networks and hours at their edges.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <ftw.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "palisade/buf.h"
#include "palisade/gwconfig.h"

#define NAME "gw.yaml"

static char tmpdir[2048];	/* $PAL_TEST_TMP/gwconfig */
static char fulldir[2200];	/* the example's directory */
static char datadir[2048];	/* $PAL_TEST_DATA/gateway */

/* ---------------------------------------------------------------------
 * Fixtures.
 */

static void
path_in(char *out, size_t n, const char *dir, const char *rel)
{
	int w = snprintf(out, n, "%s/%s", dir, rel);

	assert_true(w > 0 && (size_t)w < n);
}

static void
write_at(const char *dir, const char *rel, const char *text, unsigned mode)
{
	char path[4096];
	FILE *f;

	path_in(path, sizeof(path), dir, rel);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
mkdir_at(const char *dir, const char *rel)
{
	char path[4096];

	path_in(path, sizeof(path), dir, rel);
	assert_int_equal(mkdir(path, 0700), 0);
}

static char *
read_data(const char *rel, size_t *len)
{
	char path[4096];
	char *buf;
	long n;
	FILE *f;

	path_in(path, sizeof(path), datadir, rel);
	f = fopen(path, "rb");
	if (f == NULL)
		print_error("cannot open %s\n", path);
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

/* The files a configuration names, in dir (made here). */
static void
make_tree(const char *dir)
{
	static const char pem[] = "-----BEGIN CERTIFICATE-----\n"
				  "not checked by the configuration\n"
				  "-----END CERTIFICATE-----\n";

	assert_int_equal(mkdir(dir, 0700), 0);
	mkdir_at(dir, "tls");
	mkdir_at(dir, "state");
	mkdir_at(dir, "run");
	mkdir_at(dir, "log");
	write_at(dir, "tls/server.pem", pem, 0644);
	write_at(dir, "tls/server.key", "key\n", 0600);
	write_at(dir, "tls/clients-ca.pem", pem, 0644);
	write_at(dir, "tls/admin.pem", pem, 0644);
	write_at(dir, "tls/admin.key", "key\n", 0640);
	write_at(dir, "tls/admin-ca.pem", pem, 0644);
	write_at(dir, "injection.rules", "rules\n", 0644);
	write_at(dir, "operator.pub", "pub\n", 0644);
}

static int
group_setup(void **state)
{
	const char *t = getenv("PAL_TEST_TMP"), *d = getenv("PAL_TEST_DATA");
	char *yaml;

	(void)state;
	if (t == NULL || d == NULL)
		return -1;
	mkdir(t, 0700);
	snprintf(tmpdir, sizeof(tmpdir), "%s/gwconfig", t);
	snprintf(datadir, sizeof(datadir), "%s/gateway", d);
	snprintf(fulldir, sizeof(fulldir), "%s/full", tmpdir);
	assert_int_equal(mkdir(tmpdir, 0700), 0);
	make_tree(fulldir);
	yaml = read_data("full.yaml", NULL);
	write_at(fulldir, "gateway.yaml", yaml, 0644);
	free(yaml);
	return 0;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static int
group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
parse_flags(const char *yaml, const char *base, unsigned flags,
	    struct pal_gw_config **c, struct pal_err *err)
{
	pal_err_clear(err);
	return pal_gw_config_parse((const uint8_t *)yaml, strlen(yaml), NAME,
				   base, flags, c, err);
}

static struct pal_gw_config *
parse_ok(const char *yaml)
{
	struct pal_gw_config *c = NULL;
	struct pal_err err;
	int rc = parse_flags(yaml, "/etc/palisade", 0, &c, &err);

	if (rc != 0) {
		print_error("unexpected error %d: %s\n", rc, err.msg);
		fail();
	}
	assert_non_null(c);
	return c;
}

/* Refused with code, a message starting with NAME and containing want. */
static void
refused_flags(const char *yaml, const char *base, unsigned flags, int code,
	      const char *want)
{
	struct pal_gw_config *c = (struct pal_gw_config *)1;
	struct pal_err err;
	int rc = parse_flags(yaml, base, flags, &c, &err);

	if (rc != code || strstr(err.msg, want) == NULL) {
		print_error("got %d '%s'\nwant %d '%s'\nconfiguration:\n%.600s"
			    "\n", rc, err.msg, code, want, yaml);
		fail();
	}
	assert_null(c);
	assert_int_equal(err.code, rc);
	assert_int_equal(strncmp(err.msg, NAME ":", strlen(NAME) + 1), 0);
}

static void
refused(const char *yaml, const char *want)
{
	refused_flags(yaml, "/etc/palisade", 0, PAL_ERR_POLICY, want);
}

static void
assert_v4(const struct sockaddr_storage *sa, const char *ip, unsigned port)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
	char text[INET_ADDRSTRLEN];

	assert_int_equal(in->sin_family, AF_INET);
	assert_non_null(inet_ntop(AF_INET, &in->sin_addr, text,
				  sizeof(text)));
	assert_string_equal(text, ip);
	assert_int_equal(ntohs(in->sin_port), port);
}

static void
assert_path(const char *got, const char *dir, const char *rel)
{
	char want[4096];

	path_in(want, sizeof(want), dir, rel);
	assert_non_null(got);
	assert_string_equal(got, want);
}

/* ---------------------------------------------------------------------
 * The complete example.
 */

static void
check_full_listen(const struct pal_gw_config *c)
{
	const struct pal_gw_listen_limits *l = &c->listen.limits;

	assert_v4(&c->listen.address.sa, "0.0.0.0", 8443);
	assert_int_equal(c->listen.address.salen, sizeof(struct sockaddr_in));
	assert_string_equal(c->listen.address.text, "0.0.0.0:8443");
	assert_path(c->listen.tls.cert, fulldir, "tls/server.pem");
	assert_path(c->listen.tls.key, fulldir, "tls/server.key");
	assert_path(c->listen.tls.client_ca, fulldir, "tls/clients-ca.pem");
	assert_int_equal(c->listen.tls.client_auth,
			 PAL_GW_CLIENT_AUTH_OPTIONAL);
	assert_int_equal(c->listen.tls.min_version, PAL_GW_TLS1_3);
	assert_int_equal(l->max_connections, 4096);
	assert_int_equal(l->max_header_bytes, 16384);
	assert_int_equal(l->max_headers, 64);
	assert_int_equal(l->max_body_bytes, 1048576);
	assert_int_equal(l->max_requests_per_connection, 1000);
	assert_int_equal(l->header_timeout_ms, 10000);
	assert_int_equal(l->body_timeout_ms, 30000);
	assert_int_equal(l->idle_timeout_ms, 60000);
	assert_int_equal(l->threads, 0);
	assert_true(c->admin.enabled);
	assert_v4(&c->admin.address.sa, "127.0.0.1", 8444);
	assert_path(c->admin.tls.cert, fulldir, "tls/admin.pem");
	assert_path(c->admin.tls.key, fulldir, "tls/admin.key");
	assert_path(c->admin.tls.client_ca, fulldir, "tls/admin-ca.pem");
	assert_int_equal(c->admin.tls.client_auth, PAL_GW_CLIENT_AUTH_REQUIRE);
}

static void
check_full_upstreams(const struct pal_gw_config *c)
{
	const struct pal_gw_upstream *u = &c->upstreams[0], *e;
	const struct sockaddr_un *un;
	char sock[4096];

	assert_int_equal(c->n_upstreams, 2);
	assert_string_equal(u->name, "vllm");
	assert_string_equal(u->url, "http://127.0.0.1:8000");
	assert_false(u->endpoint.is_unix);
	assert_v4(&u->endpoint.sa, "127.0.0.1", 8000);
	assert_string_equal(u->endpoint.host, "127.0.0.1:8000");
	assert_null(u->endpoint.path);
	assert_int_equal(u->connect_timeout_ms, 2000);
	assert_int_equal(u->read_timeout_ms, 60000);
	assert_int_equal(u->max_idle, 32);
	assert_int_equal(u->n_models, 2);
	assert_string_equal(u->models[0], "llama-3.1-8b-instruct");
	assert_string_equal(u->models[1], "llama-3.1-70b-instruct");
	assert_int_equal(u->n_routes, 3);
	assert_string_equal(u->routes[0].method, "POST");
	assert_string_equal(u->routes[0].path, "/v1/chat/completions");
	assert_int_equal(u->routes[0].kind, PAL_GW_CHAT);
	assert_int_equal(u->routes[1].kind, PAL_GW_COMPLETION);
	assert_string_equal(u->routes[2].method, "GET");
	assert_string_equal(u->routes[2].path, "/v1/models");
	assert_int_equal(u->routes[2].kind, PAL_GW_MODELS);

	e = &c->upstreams[1];
	assert_string_equal(e->name, "embedder");
	assert_true(e->endpoint.is_unix);
	un = (const struct sockaddr_un *)&e->endpoint.sa;
	assert_int_equal(un->sun_family, AF_UNIX);
	path_in(sock, sizeof(sock), fulldir, "run/embedder.sock");
	assert_string_equal(un->sun_path, sock);
	assert_int_equal(e->endpoint.salen,
			 offsetof(struct sockaddr_un, sun_path) +
			 strlen(sock) + 1);
	assert_string_equal(e->endpoint.host, "localhost");
	assert_int_equal(e->n_routes, 1);
	assert_string_equal(e->routes[0].method, "POST");
	assert_int_equal(e->routes[0].kind, PAL_GW_EMBEDDING);

	assert_ptr_equal(pal_gw_config_upstream(c, "bge-m3", 6), e);
	assert_ptr_equal(pal_gw_config_upstream(c, "llama-3.1-70b-instruct",
						22), u);
	assert_null(pal_gw_config_upstream(c, "bge-m", 5));
	assert_null(pal_gw_config_upstream(c, "gpt-4o", 6));
}

static void
check_full_roles(const struct pal_gw_config *c)
{
	const struct pal_gw_role *r = &c->roles[0], *ix;
	struct pal_gw_cidr want;

	assert_int_equal(c->n_roles, 2);
	assert_string_equal(r->name, "analyst");
	assert_int_equal(r->n_models, 1);
	assert_string_equal(r->models[0], "llama-3.1-*");
	assert_int_equal(r->routes, PAL_GW_ROUTE_BIT(PAL_GW_CHAT) |
			 PAL_GW_ROUTE_BIT(PAL_GW_COMPLETION) |
			 PAL_GW_ROUTE_BIT(PAL_GW_MODELS));
	assert_true(r->has_hours);
	assert_int_equal(r->hours_from, 8 * 60);
	assert_int_equal(r->hours_to, 18 * 60);
	assert_int_equal(r->n_networks, 2);
	assert_int_equal(pal_gw_cidr_parse("10.0.0.0/8", 10, &want), 0);
	assert_memory_equal(&r->networks[0], &want, sizeof(want));
	assert_int_equal(r->networks[0].prefix, 104);
	assert_int_equal(pal_gw_cidr_parse("2001:db8::/32", 13, &want), 0);
	assert_memory_equal(&r->networks[1], &want, sizeof(want));
	assert_int_equal(r->max_tokens, 2048);
	assert_int_equal(r->limits.requests_per_minute, 60);
	assert_int_equal(r->limits.tokens_per_minute, 100000);
	assert_int_equal(r->limits.burst, 10);

	assert_int_equal(c->n_clients, 1);
	assert_string_equal(c->clients[0].name, "batch-indexer");
	assert_string_equal(c->clients[0].subject, "indexer.internal");
	assert_true(c->clients[0].has_sha256);
	assert_int_equal(c->clients[0].sha256[0], 0x9f);
	assert_int_equal(c->clients[0].sha256[31], 0x08);
	assert_string_equal(c->clients[0].role, "indexer");
	assert_int_equal(c->clients[0].limits_set, PAL_GW_LIMIT_RPM);
	assert_int_equal(c->clients[0].limits.requests_per_minute, 1200);
	ix = &c->roles[1];
	assert_string_equal(ix->name, "indexer");
	assert_int_equal(ix->routes, PAL_GW_ROUTE_BIT(PAL_GW_EMBEDDING));
	assert_false(ix->has_hours);
	assert_int_equal(ix->n_networks, 0);
	assert_int_equal(ix->max_tokens, 0);
	assert_int_equal(ix->limits.requests_per_minute, 600);
	assert_int_equal(ix->limits.tokens_per_minute, 0);
	assert_int_equal(ix->limits.burst, 100);
	assert_ptr_equal(pal_gw_config_role(c, "indexer"), ix);
	assert_null(pal_gw_config_role(c, "index"));
}

static void
check_full_policy(const struct pal_gw_config *c)
{
	const struct pal_gw_body_policy *b = &c->body;

	assert_path(c->keys.store, fulldir, "state/keys.db");
	assert_int_equal(c->keys.lockout.failures, 10);
	assert_int_equal(c->keys.lockout.window_s, 60);
	assert_int_equal(c->keys.lockout.lock_s, 300);
	assert_int_equal(b->max_body, 1048576);
	assert_int_equal(b->max_prompt, 262144);
	assert_int_equal(b->max_messages, 256);
	assert_int_equal(b->max_tokens, 8192);
	assert_int_equal(b->max_n, 4);
	assert_true(b->temperature_max == 2.0);
	assert_int_equal(b->max_stop, 4);
	assert_int_equal(b->max_tools, 128);
	assert_int_equal(b->max_depth, 32);
	assert_int_equal(b->unknown_fields, PAL_GW_REFUSE);
	assert_int_equal(b->logprobs, PAL_GW_REFUSE);
	assert_int_equal(b->top_logprobs, PAL_GW_REFUSE);
	assert_int_equal(b->logit_bias, PAL_GW_REFUSE);
	assert_int_equal(b->echo, PAL_GW_REFUSE);
	assert_int_equal(b->n_many, PAL_GW_STRIP);
	assert_int_equal(c->output.n_strip, 1);
	assert_string_equal(c->output.strip[0], "system_fingerprint");
	assert_true(c->output.strip_choice_logprobs);
	assert_true(c->injection.enabled);
	assert_path(c->injection.rules, fulldir, "injection.rules");
	assert_true(c->injection.block);
	assert_int_equal(c->injection.threshold, 100);
	assert_int_equal(c->abuse.window_s, 600);
	assert_int_equal(c->abuse.max_rate, 1000);
	assert_int_equal(c->abuse.near_dup_count, 50);
	assert_true(c->abuse.near_dup_similarity == 0.9);
	assert_int_equal(c->abuse.variation_count, 50);
	assert_false(c->abuse.block);
	assert_string_equal(c->abuse.webhook,
			    "http://127.0.0.1:9090/palisade/alert");
	assert_v4(&c->abuse_webhook.sa, "127.0.0.1", 9090);
	assert_string_equal(c->abuse_webhook.host, "127.0.0.1:9090");
	assert_string_equal(c->abuse_webhook.path, "/palisade/alert");
	assert_path(c->log.dir, fulldir, "log");
	assert_int_equal(c->log.payloads, PAL_GW_PAYLOADS_ENCRYPTED);
	assert_path(c->log.payload_key, fulldir, "operator.pub");
}

static void
full_example_loads(void **state)
{
	struct pal_gw_config *c = NULL;
	struct pal_err err;
	char path[4096];
	int rc;

	(void)state;
	path_in(path, sizeof(path), fulldir, "gateway.yaml");
	rc = pal_gw_config_load(path, &c, &err);
	if (rc != 0)
		print_error("%s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_string_equal(c->name, path);
	assert_string_equal(c->base_dir, fulldir);
	check_full_listen(c);
	check_full_upstreams(c);
	check_full_roles(c);
	check_full_policy(c);
	pal_gw_config_free(c);
}

/* The same file through a relative path: paths still come out absolute. */
static void
relative_load_resolves_absolute(void **state)
{
	struct pal_gw_config *c = NULL;
	struct pal_err err;
	char cwd[4096];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(fulldir), 0);
	assert_int_equal(pal_gw_config_load("gateway.yaml", &c, &err), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(c->base_dir, fulldir);
	assert_path(c->listen.tls.cert, fulldir, "tls/server.pem");
	pal_gw_config_free(c);
	assert_int_equal(pal_gw_config_load(NULL, &c, &err), PAL_ERR_INVALID);
	assert_int_equal(pal_gw_config_load("/nonexistent/gw.yaml", &c, &err),
			 PAL_ERR_IO);
	assert_null(c);
}

/*
 * docs/config.md shows the example as it is in tests/data, and the
 * built-in configuration as the library makes it.
 */
static void
docs_show_the_example(void **state)
{
	static const char open[] = "```yaml\n# palisade serve: a complete "
				   "configuration";
	struct pal_gw_defaults d = { "/var/lib/palisade", NULL };
	char *doc, *full, *start, *end, *builtin;
	struct pal_err err;
	size_t len;

	(void)state;
	doc = read_data("../../../docs/config.md", NULL);
	assert_int_equal(pal_gw_config_default_yaml(&d, &builtin, &len, &err),
			 0);
	start = strstr(builtin, "version: 1\n");
	assert_non_null(start);
	assert_non_null(strstr(doc, start));
	free(builtin);
	free(doc);
	doc = read_data("../../../docs/config.md", NULL);
	full = read_data("full.yaml", NULL);
	start = strstr(doc, open);
	assert_non_null(start);
	start += 8;
	end = strstr(start, "```\n");
	assert_non_null(end);
	*end = '\0';
	assert_string_equal(start, full);
	free(doc);
	free(full);
}

/* ---------------------------------------------------------------------
 * Defaults.
 */

static void
check_default_policy(const struct pal_gw_config *c)
{
	const struct pal_gw_listen_limits *l = &c->listen.limits;
	const struct pal_gw_body_policy *b = &c->body;

	assert_v4(&c->listen.address.sa, "127.0.0.1", 8443);
	assert_int_equal(c->listen.tls.min_version, PAL_GW_TLS1_3);
	assert_int_equal(l->max_connections, 4096);
	assert_int_equal(l->max_header_bytes, 16384);
	assert_int_equal(l->max_headers, 64);
	assert_int_equal(l->max_body_bytes, 1u << 20);
	assert_int_equal(l->max_requests_per_connection, 1000);
	assert_int_equal(l->header_timeout_ms, 10000);
	assert_int_equal(l->body_timeout_ms, 30000);
	assert_int_equal(l->idle_timeout_ms, 60000);
	assert_int_equal(l->threads, 0);
	assert_int_equal(c->keys.lockout.failures, 10);
	assert_int_equal(c->keys.lockout.window_s, 60);
	assert_int_equal(c->keys.lockout.lock_s, 300);
	assert_int_equal(b->max_body, 1u << 20);
	assert_int_equal(b->max_prompt, 256u << 10);
	assert_int_equal(b->max_messages, 256);
	assert_int_equal(b->max_tokens, 8192);
	assert_int_equal(b->max_n, 4);
	assert_true(b->temperature_max == 2.0);
	assert_int_equal(b->max_stop, 4);
	assert_int_equal(b->max_tools, 128);
	assert_int_equal(b->max_depth, 32);
	assert_int_equal(b->unknown_fields, PAL_GW_REFUSE);
	assert_int_equal(b->logprobs, PAL_GW_REFUSE);
	assert_int_equal(b->top_logprobs, PAL_GW_REFUSE);
	assert_int_equal(b->logit_bias, PAL_GW_REFUSE);
	assert_int_equal(b->echo, PAL_GW_REFUSE);
	assert_int_equal(b->n_many, PAL_GW_REFUSE);
	assert_int_equal(c->output.n_strip, 1);
	assert_string_equal(c->output.strip[0], "system_fingerprint");
	assert_true(c->output.strip_choice_logprobs);
	/* Injection checks are on, with the built-in rules. */
	assert_true(c->injection.enabled);
	assert_null(c->injection.rules);
	assert_true(c->injection.block);
	assert_int_equal(c->injection.threshold, 100);
	assert_int_equal(c->abuse.window_s, 600);
	assert_int_equal(c->abuse.max_rate, 1000);
	assert_int_equal(c->abuse.near_dup_count, 50);
	assert_true(c->abuse.near_dup_similarity == 0.9);
	assert_int_equal(c->abuse.variation_count, 50);
	assert_false(c->abuse.block);
	assert_null(c->abuse.webhook);
	assert_int_equal(c->log.payloads, PAL_GW_PAYLOADS_NONE);
	assert_null(c->log.payload_key);
}

static void
minimal_has_defaults(void **state)
{
	struct pal_gw_config *c;
	const struct pal_gw_upstream *u;
	char *yaml = read_data("minimal.yaml", NULL);

	(void)state;
	c = parse_ok(yaml);
	free(yaml);
	check_default_policy(c);
	assert_false(c->admin.enabled);
	assert_null(c->listen.tls.client_ca);
	assert_int_equal(c->listen.tls.client_auth, PAL_GW_CLIENT_AUTH_NONE);
	assert_string_equal(c->listen.tls.cert, "/etc/palisade/server.pem");
	assert_string_equal(c->keys.store, "/etc/palisade/keys.db");
	assert_string_equal(c->log.dir, "/etc/palisade/log");
	assert_int_equal(c->n_upstreams, 1);
	u = &c->upstreams[0];
	assert_int_equal(u->connect_timeout_ms, 2000);
	assert_int_equal(u->read_timeout_ms, 60000);
	assert_int_equal(u->max_idle, 32);
	assert_int_equal(u->n_models, 0);
	/* Without routes: the four OpenAI routes. */
	assert_int_equal(u->n_routes, 4);
	assert_string_equal(u->routes[0].path, "/v1/chat/completions");
	assert_string_equal(u->routes[1].path, "/v1/completions");
	assert_string_equal(u->routes[2].path, "/v1/embeddings");
	assert_string_equal(u->routes[3].method, "GET");
	assert_string_equal(u->routes[3].path, "/v1/models");
	for (int k = 0; k < PAL_GW_ROUTE_KINDS; k++)
		assert_int_equal(u->routes[k].kind, k);
	/* An upstream without models serves every model. */
	assert_ptr_equal(pal_gw_config_upstream(c, "anything", 8), u);
	assert_int_equal(c->roles[0].routes, 0xf);
	assert_int_equal(c->roles[0].limits.requests_per_minute, 60);
	assert_int_equal(c->roles[0].limits.tokens_per_minute, 100000);
	assert_int_equal(c->roles[0].limits.burst, 10);
	assert_false(c->roles[0].has_hours);
	pal_gw_config_free(c);
}

static void
builtin_default(void **state)
{
	struct pal_gw_defaults d = { "/var/lib/palisade", NULL };
	struct pal_gw_config *c = NULL;
	struct pal_err err;
	char dir[4096], file[4200], *yaml;
	size_t len;

	(void)state;
	assert_int_equal(pal_gw_config_default(&d, 0, &c, &err), 0);
	check_default_policy(c);
	assert_string_equal(c->name, "built-in configuration");
	assert_string_equal(c->listen.tls.cert,
			    "/var/lib/palisade/tls/server.pem");
	assert_string_equal(c->listen.tls.key,
			    "/var/lib/palisade/tls/server.key");
	assert_int_equal(c->listen.tls.client_auth, PAL_GW_CLIENT_AUTH_NONE);
	assert_true(c->admin.enabled);
	assert_v4(&c->admin.address.sa, "127.0.0.1", 8444);
	assert_string_equal(c->admin.tls.client_ca,
			    "/var/lib/palisade/tls/admin-ca.pem");
	assert_int_equal(c->admin.tls.client_auth, PAL_GW_CLIENT_AUTH_REQUIRE);
	assert_int_equal(c->n_upstreams, 1);
	assert_string_equal(c->upstreams[0].url, "http://127.0.0.1:8000");
	assert_int_equal(c->upstreams[0].n_routes, 4);
	assert_string_equal(c->keys.store, "/var/lib/palisade/keys.db");
	assert_int_equal(c->n_roles, 1);
	assert_string_equal(c->roles[0].name, "default");
	assert_string_equal(c->roles[0].models[0], "*");
	assert_int_equal(c->roles[0].routes, 0xf);
	assert_string_equal(c->log.dir, "/var/lib/palisade/log");
	pal_gw_config_free(c);

	/* Another upstream; the text is the file an operator starts from. */
	d.upstream = "unix:/run/vllm.sock";
	assert_int_equal(pal_gw_config_default_yaml(&d, &yaml, &len, &err), 0);
	assert_int_equal(strlen(yaml), len);
	assert_non_null(strstr(yaml, "url: \"unix:/run/vllm.sock\""));
	assert_int_equal(strncmp(yaml, "# palisade serve", 16), 0);
	free(yaml);

	/* With the files checked, in a state directory that has them. */
	path_in(dir, sizeof(dir), tmpdir, "state");
	make_tree(dir);
	d.state_dir = dir;
	assert_int_equal(pal_gw_config_default(&d, PAL_GW_CONFIG_CHECK_FILES,
					       &c, &err), 0);
	pal_gw_config_free(c);
	path_in(file, sizeof(file), tmpdir, "state/tls/admin-ca.pem");
	assert_int_equal(unlink(file), 0);
	c = (struct pal_gw_config *)1;
	assert_int_equal(pal_gw_config_default(&d, PAL_GW_CONFIG_CHECK_FILES,
					       &c, &err), PAL_ERR_POLICY);
	assert_null(c);
	if (strstr(err.msg, "built-in configuration:15:16: admin.tls."
		   "client_ca: ") == NULL)
		print_error("%s\n", err.msg);
	assert_non_null(strstr(err.msg, "built-in configuration:15:16: "
			       "admin.tls.client_ca: "));
	assert_non_null(strstr(err.msg, "admin-ca.pem: No such file"));

	/* What the built-in configuration cannot be made with. */
	d.state_dir = "relative/state";
	assert_int_equal(pal_gw_config_default(&d, 0, &c, &err),
			 PAL_ERR_INVALID);
	d.state_dir = "/var/lib/palisade";
	d.upstream = "http://127.0.0.1:8000\"\nadmin: {}";
	assert_int_equal(pal_gw_config_default(&d, 0, &c, &err),
			 PAL_ERR_INVALID);
	d.upstream = "http://192.0.2.1:8000";
	assert_int_equal(pal_gw_config_default(&d, 0, &c, &err),
			 PAL_ERR_POLICY);
	assert_non_null(strstr(err.msg, "upstreams[0].url: "
			       "'http://192.0.2.1:8000' is not on loopback"));
	assert_int_equal(pal_gw_config_default(NULL, 0, &c, &err),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_gw_config_default_yaml(NULL, &yaml, &len, &err),
			 PAL_ERR_INVALID);
}

/* ---------------------------------------------------------------------
 * Mistakes, each where it is.
 */

/*
 * A valid configuration in sections, so that a case can leave one out
 * and append its own at a known line.  Lines: VER 1, LISTEN 4, UP 3,
 * KEYS 2, ROLES 4, LOG 2.
 */
#define VER "version: 1\n"
#define LISTEN "listen:\n  tls:\n    cert: c.pem\n    key: k.pem\n"
#define UP "upstreams:\n  - name: u\n    url: \"http://127.0.0.1:8000\"\n"
#define KEYS "keys:\n  store: keys.db\n"
#define ROLES "roles:\n  - name: r\n    models: [\"*\"]\n    routes: [chat]\n"
#define LOG "log:\n  dir: log\n"
#define BASE VER LISTEN UP KEYS ROLES LOG		/* 16 lines */
#define NO_LISTEN VER UP KEYS ROLES LOG			/* 12 lines */
#define NO_UP VER LISTEN KEYS ROLES LOG			/* 13 lines */
#define NO_ROLES VER LISTEN UP KEYS LOG			/* 12 lines */
#define NO_LOG VER LISTEN UP KEYS ROLES			/* 14 lines */
#define ROLE_HEAD "roles:\n  - name: r\n    models: [\"*\"]\n" \
		  "    routes: [chat]\n"
#define TLS_ABC "  tls: {cert: a.pem, key: a.key, client_ca: ca.pem}\n"
/* BASE with client certificates asked for: 17 lines. */
#define MTLS VER "listen:\n  tls:\n    cert: c.pem\n    key: k.pem\n" \
	     "    client_ca: ca.pem\n" UP KEYS ROLES LOG
#define FP "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static const struct {
	const char *yaml;
	const char *msg;
} mistakes[] = {
	/* The document. */
	{ "", NAME ":1:1: empty configuration (expected a mapping with "
	  "'version: 1')" },
	{ "- version: 1\n", NAME ":1:1: expected a mapping with 'version: 1' "
	  "at the top" },
	{ "version: 1\n", NAME ":1:1: missing 'listen' (the public listener "
	  "and its TLS certificate)" },
	{ "listen: {}\nversion: 1\n", NAME ":1:1: 'version' must come first "
	  "in the configuration" },
	{ "version: 2\n", NAME ":1:10: unsupported version '2' (this "
	  "palisade reads version 1)" },
	{ "version: \"1\"\n", NAME ":1:10: 'version' must be the number 1" },
	{ BASE "---\nversion: 1\n", NAME ":17:1: only one document is "
	  "allowed" },
	{ BASE "extra: 1\n", NAME ":17:1: unknown key 'extra' in the "
	  "configuration (known: version, listen, admin, upstreams, keys, "
	  "roles, clients, requests, responses, injection, abuse, log)" },
	{ BASE "log: {dir: x}\n", NAME ":17:1: duplicate key 'log' in the "
	  "configuration" },
	{ NO_LOG, NAME ":1:1: missing 'log' (the log directory)" },
	{ BASE "[a]: 1\n", NAME ":17:1: keys of the configuration must be "
	  "strings" },
	{ BASE "requests: &r {max_n: 2}\n", NAME ":17:11: anchors and tags "
	  "are not allowed" },
	{ BASE "requests: !!map {max_n: 2}\n", NAME ":17:11: anchors and "
	  "tags are not allowed" },
	{ BASE "requests: {max_n: *a}\n", NAME ":17:19: aliases are not "
	  "allowed" },
	{ BASE "requests: {max_n: 2\n", NAME ":18:1: YAML syntax: " },
	/* Unknown keys, wrong types, duplicates, ranges: with the key path. */
	{ BASE "requests:\n  max_tokns: 5\n", NAME ":18:3: requests: unknown "
	  "key 'max_tokns' (known: max_prompt_bytes, max_messages, " },
	{ BASE "requests:\n  max_n: 2\n  max_n: 3\n", NAME ":19:3: requests: "
	  "duplicate key 'max_n'" },
	{ BASE "requests: [max_n]\n", NAME ":17:11: requests: must be a "
	  "mapping" },
	{ BASE "requests:\n  [a]: 1\n", NAME ":18:3: requests: keys must be "
	  "strings" },
	{ NO_LISTEN "listen:\n  tls:\n    cert: c.pem\n    key: k.pem\n"
	  "  limits:\n    max_body_bytes: 100\n", NAME ":18:21: listen.limits."
	  "max_body_bytes: must be between 1024 and 67108864" },
	{ NO_LISTEN "listen:\n  tls:\n    cert: c.pem\n    key: k.pem\n"
	  "  limits:\n    max_body_bytes: \"2048\"\n", NAME ":18:21: listen."
	  "limits.max_body_bytes: must be a whole number, not a string "
	  "(remove the quotes)" },
	{ NO_LISTEN "listen:\n  tls:\n    cert: c.pem\n    key: k.pem\n"
	  "  limits:\n    max_body_bytes: 1_000_000\n", NAME ":18:21: listen."
	  "limits.max_body_bytes: must be a whole number, not '1_000_000'" },
	{ NO_LISTEN "listen:\n  tls:\n    cert: c.pem\n    key: k.pem\n"
	  "  limits:\n    max_headers: 010\n", NAME ":18:18: listen.limits."
	  "max_headers: must be a whole number, not '010'" },
	{ NO_LISTEN "listen:\n  tls:\n    cert: c.pem\n    key: k.pem\n"
	  "  limits:\n    max_headers: 0x40\n", "not '0x40'" },
	{ NO_LISTEN "listen:\n  tls:\n    cert: c.pem\n    key: k.pem\n"
	  "  limits:\n    max_headers: -1\n", "not '-1'" },
	{ NO_LISTEN "listen:\n  tls:\n    cert: c.pem\n    key: k.pem\n"
	  "  limits:\n    max_headers: [64]\n", NAME ":18:18: listen.limits."
	  "max_headers: must be a whole number" },
	{ NO_LISTEN "listen:\n  tls:\n    cert: c.pem\n    key: k.pem\n"
	  "  limits:\n    threads: 99999999999999999999999\n",
	  "listen.limits.threads: must be a whole number, not" },
	{ NO_LISTEN "listen:\n  tls:\n    cert: c.pem\n    key: k.pem\n"
	  "  limits:\n    threads: 1025\n", NAME ":18:14: listen.limits."
	  "threads: must be between 0 and 1024" },
	{ BASE "requests:\n  temperature_max: 2.5\n", NAME ":18:20: requests."
	  "temperature_max: must be between 0 and 2" },
	{ BASE "requests:\n  temperature_max: 1e0\n", NAME ":18:20: requests."
	  "temperature_max: must be a number, not '1e0'" },
	{ BASE "requests:\n  temperature_max: .5\n", "not '.5'" },
	{ BASE "requests:\n  temperature_max: 0.1234567890\n",
	  "not '0.1234567890'" },
	{ BASE "requests:\n  unknown_fields: deny\n", NAME ":18:19: requests."
	  "unknown_fields: must be one of refuse, strip, allow" },
	{ BASE "requests:\n  n: [allow]\n", NAME ":18:6: requests.n: must be "
	  "one of refuse, strip, allow" },
	{ BASE "responses:\n  strip_logprobs: yes\n", NAME ":18:19: "
	  "responses.strip_logprobs: must be true or false" },
	{ BASE "responses:\n  strip_logprobs: \"true\"\n",
	  "responses.strip_logprobs: must be true or false" },
	/* Listeners. */
	{ NO_LISTEN "listen:\n  address: localhost:8443\n", NAME ":14:12: "
	  "listen.address: 'localhost:8443' is not an IP address and port "
	  "such as '127.0.0.1:8443' or '[::1]:8443'" },
	{ NO_LISTEN "listen:\n  address: \"::1:8443\"\n", "'::1:8443' is not "
	  "an IP address" },
	{ NO_LISTEN "listen:\n  address: \"127.0.0.1:0\"\n", "is not an IP" },
	{ NO_LISTEN "listen:\n  address: \"127.0.0.1:65536\"\n",
	  "is not an IP" },
	{ NO_LISTEN "listen:\n  address: \"127.0.0.1:08443\"\n",
	  "is not an IP" },
	{ NO_LISTEN "listen:\n  address: \"[::1]8443\"\n", "is not an IP" },
	{ NO_LISTEN "listen:\n  address: \"[fe80::1%eth0]:8443\"\n",
	  "is not an IP" },
	{ NO_LISTEN "listen:\n  address: 8443\n", NAME ":14:12: "
	  "listen.address: must be a string (quote it)" },
	{ NO_LISTEN "listen:\n  address: \"127.0.0.1:8443\"\n", NAME ":14:3: "
	  "listen: missing 'tls' (the gateway speaks only HTTPS)" },
	{ NO_LISTEN "listen:\n  tls:\n    cert: c.pem\n", NAME ":15:5: "
	  "listen.tls: missing 'key' (the PEM private key)" },
	{ NO_LISTEN "listen:\n  tls:\n    cert: c.pem\n    key: k.pem\n"
	  "    client_auth: require\n", NAME ":17:18: listen.tls.client_auth: "
	  "'require' needs client_ca (the CA bundle client certificates are "
	  "checked against)" },
	{ NO_LISTEN "listen:\n  tls:\n    cert: c.pem\n    key: k.pem\n"
	  "    client_ca: ca.pem\n    client_auth: none\n", NAME ":15:5: "
	  "listen.tls: client_ca is set but client_auth is none" },
	{ NO_LISTEN "listen:\n  tls:\n    cert: c.pem\n    key: k.pem\n"
	  "    min_version: 1.1\n", NAME ":17:18: listen.tls.min_version: "
	  "must be one of 1.3, 1.2" },
	{ NO_LISTEN "listen:\n  tls:\n    cert: \"\"\n    key: k.pem\n",
	  NAME ":15:11: listen.tls.cert: is empty" },
	{ NO_LISTEN "listen:\n  tls:\n    cert: \"c\\x01.pem\"\n    key: k\n",
	  NAME ":15:11: listen.tls.cert: 'c\\x01.pem' holds a control "
	  "character" },
	{ BASE "admin:\n  tls:\n    cert: a.pem\n    key: a.key\n",
	  NAME ":19:5: admin.tls: missing 'client_ca': the admin listener "
	  "takes only clients with a certificate from this CA bundle" },
	{ BASE "admin:\n  tls:\n    cert: a.pem\n    key: a.key\n"
	  "    client_ca: ca.pem\n    client_auth: none\n", NAME ":22:5: "
	  "admin.tls: unknown key 'client_auth' (known: cert, key, "
	  "client_ca, min_version)" },
	{ BASE "admin:\n  address: \"127.0.0.1:8443\"\n" TLS_ABC,
	  NAME ":18:12: admin.address: 127.0.0.1:8443 takes the port of "
	  "listen.address 127.0.0.1:8443" },
	{ VER "listen:\n  address: \"0.0.0.0:9000\"\n  tls: {cert: c, key: k}\n"
	  UP KEYS ROLES LOG "admin:\n  address: \"127.0.0.2:9000\"\n" TLS_ABC,
	  NAME ":17:12: admin.address: 127.0.0.2:9000 takes the port of "
	  "listen.address 0.0.0.0:9000" },
	{ BASE "admin: {}\n", NAME ":17:8: admin: missing 'tls' (the admin "
	  "listener speaks only HTTPS with client certificates)" },
	/* Upstreams. */
	{ NO_UP "upstreams:\n  - name: u\n    url: \"http://10.0.0.1:8000\"\n",
	  NAME ":16:10: upstreams[0].url: 'http://10.0.0.1:8000' is not on "
	  "loopback: the gateway speaks plain HTTP to it, so only "
	  "127.0.0.0/8 and [::1] (or a Unix socket) are allowed" },
	{ NO_UP "upstreams:\n  - name: u\n    url: \"http://[::2]:8000\"\n",
	  "'http://[::2]:8000' is not on loopback" },
	{ NO_UP "upstreams:\n  - name: u\n    url: \"http://localhost:8000\"\n",
	  NAME ":16:10: upstreams[0].url: 'http://localhost:8000' is not "
	  "http://127.0.0.1:PORT, http://[::1]:PORT or unix:/path/to/socket" },
	{ NO_UP "upstreams:\n  - name: u\n    url: \"https://127.0.0.1:8000\"\n",
	  "is not http://127.0.0.1:PORT" },
	{ NO_UP "upstreams:\n  - name: u\n    url: \"http://127.0.0.1\"\n",
	  "is not http://127.0.0.1:PORT" },
	{ NO_UP "upstreams:\n  - name: u\n    url: \"http://127.0.0.1:8000/v1\"\n",
	  NAME ":16:10: upstreams[0].url: 'http://127.0.0.1:8000/v1' has a "
	  "path: routes name the paths, the URL only where the server is" },
	{ NO_UP "upstreams:\n  - name: u\n    url: \"unix:\"\n",
	  "'unix:' is not http://127.0.0.1:PORT" },
	{ NO_UP "upstreams:\n  - name: u\n    url: \"http://u@127.0.0.1:80\"\n",
	  "is not http://127.0.0.1:PORT" },
	{ NO_UP "upstreams: []\n", NAME ":14:12: upstreams: is empty (name at "
	  "least one model server)" },
	{ NO_UP "upstreams:\n  - name: u\n", NAME ":15:5: upstreams[0]: "
	  "missing 'url' (http://127.0.0.1:PORT or unix:/path)" },
	{ NO_UP "upstreams:\n  - name: \"a b\"\n    url: unix:/s\n",
	  NAME ":15:11: upstreams[0].name: 'a b' may hold only letters, "
	  "digits, '_', '.' and '-'" },
	{ NO_UP "upstreams:\n  - {name: a, url: \"unix:/a\"}\n"
	  "  - {name: a, url: \"unix:/b\"}\n", NAME ":16:12: upstreams[1]."
	  "name: 'a' is the name of upstreams[0] already" },
	{ NO_UP "upstreams:\n  - {name: a, url: \"unix:/a\"}\n"
	  "  - {name: b, url: \"unix:/b\"}\n", NAME ":16:5: upstreams[1]: "
	  "lists no models, and neither does upstreams[0]: only one upstream "
	  "may serve every model" },
	{ NO_UP "upstreams:\n  - {name: a, url: \"unix:/a\", models: [m]}\n"
	  "  - {name: b, url: \"unix:/b\", models: [n, m]}\n", NAME ":16:43: "
	  "upstreams[1].models[1]: model 'm' is listed by upstreams[0] "
	  "already" },
	{ NO_UP "upstreams:\n  - {name: a, url: \"unix:/a\", models: [\"m*\"]}\n",
	  "upstreams[0].models[0]: 'm*' is not a model name" },
	{ NO_UP "upstreams:\n  - {name: a, url: \"unix:/a\", models: []}\n",
	  NAME ":15:39: upstreams[0].models: is empty (leave it out to serve "
	  "every model)" },
	{ NO_UP "upstreams:\n  - name: u\n    url: unix:/run/u.sock\n"
	  "    routes:\n      - {method: GET, path: /v1/chat/completions, "
	  "kind: chat}\n", NAME ":18:18: upstreams[0].routes[0].method: a "
	  "chat route is POST" },
	{ NO_UP "upstreams:\n  - name: u\n    url: unix:/run/u.sock\n"
	  "    routes:\n      - {method: PUT, path: /v1/x, kind: chat}\n",
	  "upstreams[0].routes[0].method: must be one of GET, POST" },
	{ NO_UP "upstreams:\n  - name: u\n    url: unix:/run/u.sock\n"
	  "    routes:\n      - {path: /v1/../admin, kind: chat}\n",
	  NAME ":18:16: upstreams[0].routes[0].path: '/v1/../admin' is not "
	  "an exact path" },
	{ NO_UP "upstreams:\n  - name: u\n    url: unix:/run/u.sock\n"
	  "    routes:\n      - {path: \"/v1/chat?x=1\", kind: chat}\n",
	  "is not an exact path" },
	{ NO_UP "upstreams:\n  - name: u\n    url: unix:/run/u.sock\n"
	  "    routes:\n      - {path: /v1//chat, kind: chat}\n",
	  "is not an exact path" },
	{ NO_UP "upstreams:\n  - name: u\n    url: unix:/run/u.sock\n"
	  "    routes:\n      - {path: /v1/chat/, kind: chat}\n",
	  "is not an exact path" },
	{ NO_UP "upstreams:\n  - name: u\n    url: unix:/run/u.sock\n"
	  "    routes:\n      - {path: /v1/chat, kind: chat}\n"
	  "      - {path: /v1/chat, kind: completion}\n", NAME ":19:9: "
	  "upstreams[0].routes[1]: POST /v1/chat is listed twice" },
	{ NO_UP "upstreams:\n  - name: u\n    url: unix:/run/u.sock\n"
	  "    routes:\n      - {path: /v1/chat}\n", NAME ":18:9: "
	  "upstreams[0].routes[0]: missing 'kind' (chat, completion, "
	  "embedding or models)" },
	{ NO_UP "upstreams:\n  - name: u\n    url: unix:/run/u.sock\n"
	  "    routes: []\n", NAME ":17:13: upstreams[0].routes: is empty "
	  "(leave it out for the four OpenAI routes)" },
	/* Roles. */
	{ NO_ROLES "roles: []\n", NAME ":13:8: roles: is empty (keys need a "
	  "role to do anything)" },
	{ NO_ROLES ROLE_HEAD "    model: x\n", NAME ":17:5: roles[0]: "
	  "unknown key 'model' (known: name, models, routes, conditions, "
	  "limits)" },
	{ NO_ROLES "roles:\n  - name: r\n    routes: [chat]\n", NAME ":14:5: "
	  "roles[0]: missing 'models' (globs of the models it grants; \"*\" "
	  "for all)" },
	{ NO_ROLES ROLE_HEAD "  - name: r\n    models: [a]\n    routes: "
	  "[chat]\n", NAME ":17:11: roles[1].name: 'r' is the name of "
	  "roles[0] already" },
	{ NO_ROLES "roles:\n  - name: r\n    models: [a, b, a]\n    routes: "
	  "[chat]\n", NAME ":15:20: roles[0].models[2]: 'a' is listed twice" },
	{ NO_ROLES "roles:\n  - name: r\n    models: [\"*\"]\n    routes: "
	  "[chatt]\n", NAME ":16:14: roles[0].routes[0]: must be one of chat, "
	  "completion, embedding, models" },
	{ NO_ROLES "roles:\n  - name: r\n    models: [\"*\"]\n    routes: "
	  "[chat, chat]\n", NAME ":16:20: roles[0].routes[1]: 'chat' is "
	  "listed twice" },
	{ NO_ROLES ROLE_HEAD "    conditions:\n      networks: "
	  "[\"10.0.0.1/8\"]\n", NAME ":18:18: roles[0].conditions.networks[0]: "
	  "'10.0.0.1/8' is not a network such as 10.0.0.0/8 or 2001:db8::/32 "
	  "(with no bits set after the prefix)" },
	{ NO_ROLES ROLE_HEAD "    conditions:\n      networks: "
	  "[\"10.0.0.0/8\", \"::ffff:10.0.0.0/104\"]\n", NAME ":18:32: "
	  "roles[0].conditions.networks[1]: '::ffff:10.0.0.0/104' is listed "
	  "twice" },
	{ NO_ROLES ROLE_HEAD "    conditions:\n      networks: []\n",
	  NAME ":18:17: roles[0].conditions.networks: is empty (leave it out "
	  "to allow every network)" },
	{ NO_ROLES ROLE_HEAD "    conditions:\n      hours: \"00:00-00:00\"\n",
	  NAME ":18:14: roles[0].conditions.hours: '00:00-00:00' starts and "
	  "ends at the same time (leave hours out for the whole day)" },
	{ NO_ROLES ROLE_HEAD "    conditions:\n      hours: \"8:00-18:00\"\n",
	  NAME ":18:14: roles[0].conditions.hours: '8:00-18:00' is not "
	  "HH:MM-HH:MM in UTC, such as 08:00-18:00 or 22:00-06:00" },
	{ NO_ROLES ROLE_HEAD "    conditions:\n      max_tokens: 9000\n",
	  NAME ":18:19: roles[0].conditions.max_tokens: 9000 is more than "
	  "requests.max_tokens (8192)" },
	{ NO_ROLES ROLE_HEAD "    conditions:\n      max_tokens: 0\n",
	  NAME ":18:19: roles[0].conditions.max_tokens: must be between 1 "
	  "and 1000000" },
	{ NO_ROLES ROLE_HEAD "    limits: {requests_per_minute: -5}\n",
	  "roles[0].limits.requests_per_minute: must be a whole number, not "
	  "'-5'" },
	/* Keys, policies and the log. */
	{ VER LISTEN UP ROLES LOG "keys: {}\n", NAME ":15:7: keys: missing "
	  "'store' (the SQLite key store)" },
	{ BASE "requests:\n  max_prompt_bytes: 2000000\n", NAME ":18:21: "
	  "requests.max_prompt_bytes: 2000000 is more than "
	  "listen.limits.max_body_bytes (1048576)" },
	{ BASE "responses:\n  strip: [choices]\n", NAME ":18:11: "
	  "responses.strip[0]: 'choices' cannot be stripped: responses mean "
	  "nothing without it" },
	{ BASE "responses:\n  strip: [id, id]\n", NAME ":18:15: "
	  "responses.strip[1]: 'id' is listed twice" },
	{ BASE "responses:\n  strip: [\"a.b\"]\n", "responses.strip[0]: 'a.b' "
	  "is not a field name" },
	{ BASE "injection:\n  rules: r\n  threshold: 0\n", NAME ":19:14: "
	  "injection.threshold: must be between 1 and 1000000" },
	{ BASE "injection:\n  threshold: 2.5\n", NAME ":18:14: "
	  "injection.threshold: must be a whole number, not '2.5'" },
	{ BASE "injection:\n  action: none\n", NAME ":18:11: "
	  "injection.action: must be one of block, flag, off" },
	{ BASE "abuse:\n  webhook: \"http://203.0.113.5/x\"\n",
	  "abuse.webhook: 'http://203.0.113.5/x' is not" },
	{ BASE "abuse:\n  webhook: \"http://203.0.113.5:80/x\"\n",
	  NAME ":18:12: abuse.webhook: 'http://203.0.113.5:80/x' is not on "
	  "loopback: the gateway speaks plain HTTP to it, so only "
	  "127.0.0.0/8 and [::1] are allowed" },
	{ BASE "abuse:\n  webhook: \"unix:/run/alert.sock\"\n",
	  "abuse.webhook: 'unix:/run/alert.sock' is not "
	  "http://127.0.0.1:PORT/PATH or http://[::1]:PORT/PATH" },
	{ BASE "abuse:\n  webhook: \"http://127.0.0.1:80/a b\"\n",
	  "is not http://127.0.0.1:PORT/PATH" },
	{ BASE "abuse:\n  near_duplicates: {similarity: 0.4}\n",
	  NAME ":18:33: abuse.near_duplicates.similarity: must be between "
	  "0.5 and 1" },
	{ BASE "abuse:\n  variations: 5\n", NAME ":18:15: abuse.variations: "
	  "must be a mapping" },
	{ BASE "abuse:\n  action: kill\n", "abuse.action: must be one of "
	  "alert, block" },
	{ NO_LOG "log:\n  dir: log\n  payloads: encrypted\n", NAME ":16:3: "
	  "log: payloads: encrypted needs payload_key (the operator's PEM "
	  "public key)" },
	{ NO_LOG "log:\n  dir: log\n  payload_key: k.pub\n", NAME ":16:3: "
	  "log: payload_key is set but payloads is none" },
	/* Certificate identities. */
	{ BASE "clients:\n  - {name: a, subject: a.example, role: r}\n",
	  NAME ":18:3: clients: certificate identities need "
	  "listen.tls.client_ca (the CA bundle their certificates are "
	  "verified against)" },
	{ MTLS "clients:\n  - {name: a, subject: a.example, role: q}\n",
	  NAME ":19:41: clients[0].role: 'q' is not a configured role" },
	{ MTLS "clients:\n  - {name: a, role: r}\n", NAME ":19:5: clients[0]: "
	  "needs 'subject' (the certificate's common name), 'sha256' (its "
	  "fingerprint) or both" },
	{ MTLS "clients:\n  - {name: a, sha256: abc, role: r}\n",
	  NAME ":19:23: clients[0].sha256: 'abc' is not a SHA-256 "
	  "fingerprint (64 hex digits, colons allowed)" },
	{ MTLS "clients:\n  - {name: a, sha256: \"" FP "0\", role: r}\n",
	  "is not a SHA-256 fingerprint" },
	{ MTLS "clients:\n  - {name: a, sha256: \"" FP "\", role: r}\n"
	  "  - {name: b, sha256: \"" FP "\", role: r}\n", NAME ":20:5: "
	  "clients[1]: matches the same certificates as clients[0] ('a')" },
	{ MTLS "clients:\n  - {name: a, subject: x, role: r}\n"
	  "  - {name: a, subject: y, role: r}\n", NAME ":20:12: "
	  "clients[1].name: 'a' is the name of clients[0] already" },
	{ MTLS "clients:\n  - {name: abcdefghijklmnopqrstuvwxyz01, "
	  "subject: x, role: r}\n", "clients[0].name: "
	  "'abcdefghijklmnopqrstuvwxyz01' is longer than 27 bytes" },
	{ MTLS "clients:\n  - {name: a, subject: \"x\\ty\", role: r}\n",
	  "clients[0].subject: 'x\\x09y' holds a control character" },
	{ MTLS "clients:\n  - {name: a, subject: x, role: r, "
	  "limits: {rpm: 1}}\n", "unknown key 'rpm'" },
};

/*
 * Certificates to clients: every criterion a client sets must hold, and
 * the first client that matches wins.
 */
static void
clients_match_certificates(void **state)
{
	static const char yaml[] = MTLS "clients:\n"
		"  - {name: pinned, subject: svc, sha256: \"" FP "\", "
		"role: r}\n"
		"  - {name: by-name, subject: svc, role: r}\n"
		"  - {name: by-print, sha256: \"" FP "\", role: r}\n";
	struct pal_gw_config *c = parse_ok(yaml);
	const struct pal_gw_client *cl;
	uint8_t fp[32], other[32];

	(void)state;
	for (size_t i = 0; i < 32; i++)
		fp[i] = c->clients[0].sha256[i];
	memset(other, 0x5a, sizeof(other));
	cl = pal_gw_config_client(c, "svc", 3, fp);
	assert_non_null(cl);
	assert_string_equal(cl->name, "pinned");
	cl = pal_gw_config_client(c, "svc", 3, other);
	assert_non_null(cl);
	assert_string_equal(cl->name, "by-name");
	cl = pal_gw_config_client(c, "svcx", 4, fp);
	assert_non_null(cl);
	assert_string_equal(cl->name, "by-print");
	cl = pal_gw_config_client(c, NULL, 0, fp);
	assert_non_null(cl);
	assert_string_equal(cl->name, "by-print");
	/* A name that is a prefix, or none at all, matches no name. */
	assert_null(pal_gw_config_client(c, "sv", 2, other));
	assert_null(pal_gw_config_client(c, NULL, 0, other));
	pal_gw_config_free(c);
}

static void
mistakes_are_refused(void **state)
{
	size_t wrong = 0;

	(void)state;
	/* Every case is tried and every wrong one shown before failing. */
	for (size_t i = 0; i < sizeof(mistakes) / sizeof(mistakes[0]); i++) {
		struct pal_gw_config *c = (struct pal_gw_config *)1;
		struct pal_err err;
		int rc = parse_flags(mistakes[i].yaml, "/etc/palisade", 0, &c,
				     &err);

		if (rc != PAL_ERR_POLICY || c != NULL || err.code != rc ||
		    strncmp(err.msg, NAME ":", strlen(NAME) + 1) != 0 ||
		    strstr(err.msg, mistakes[i].msg) == NULL) {
			print_error("case %zu: got %d '%s'\nwant '%s'\n", i, rc,
				    err.msg, mistakes[i].msg);
			wrong++;
		}
		if (rc == 0)
			pal_gw_config_free(c);
	}
	assert_int_equal(wrong, 0);
}

/*
 * tests/data/gateway/invalid/: each file says on its first line what it
 * must be refused with ("# expect: ..."), its name standing for NAME.
 */
static void
invalid_files_are_refused(void **state)
{
	char dir[4096], want[512], rel[600];
	struct dirent *de;
	size_t seen = 0;
	DIR *d;

	(void)state;
	path_in(dir, sizeof(dir), datadir, "invalid");
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		struct pal_gw_config *c = (struct pal_gw_config *)1;
		const char *nl, *e;
		struct pal_err err;
		char *yaml;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "invalid/%s", de->d_name);
		yaml = read_data(rel, &len);
		assert_int_equal(strncmp(yaml, "# expect: ", 10), 0);
		nl = strchr(yaml, '\n');
		assert_non_null(nl);
		e = yaml + 10;
		snprintf(want, sizeof(want), "%s:%.*s", de->d_name,
			 (int)(nl - e), e);
		assert_int_equal(pal_gw_config_parse((uint8_t *)yaml, len,
						     de->d_name, "/etc/x", 0,
						     &c, &err), PAL_ERR_POLICY);
		assert_null(c);
		if (strncmp(err.msg, want, strlen(want)) != 0) {
			print_error("got '%s'\nwant '%s'\n", err.msg, want);
			fail();
		}
		free(yaml);
		seen++;
	}
	closedir(d);
	assert_true(seen >= 10);
}

/* ---------------------------------------------------------------------
 * Files a configuration names.
 */

/* The example with one line replaced, written as gw.yaml beside it. */
static void
expect_file_refused(const char *from, const char *to, const char *want)
{
	struct pal_gw_config *c = (struct pal_gw_config *)1;
	struct pal_err err;
	struct pal_buf b;
	char path[4096];
	char *yaml, *at;

	yaml = read_data("full.yaml", NULL);
	at = strstr(yaml, from);
	assert_non_null(at);
	pal_buf_init(&b, 1 << 20);
	assert_int_equal(pal_buf_append(&b, yaml, (size_t)(at - yaml)), 0);
	assert_int_equal(pal_buf_puts(&b, to), 0);
	assert_int_equal(pal_buf_puts(&b, at + strlen(from)), 0);
	write_at(fulldir, NAME, (char *)b.p, 0644);
	path_in(path, sizeof(path), fulldir, NAME);
	assert_int_equal(pal_gw_config_load(path, &c, &err), PAL_ERR_POLICY);
	assert_null(c);
	if (strstr(err.msg, want) == NULL) {
		print_error("got '%s'\nwant '%s'\n", err.msg, want);
		fail();
	}
	assert_int_equal(strncmp(err.msg, path, strlen(path)), 0);
	pal_buf_free(&b);
	free(yaml);
	assert_int_equal(unlink(path), 0);
}

static void
named_files_are_checked(void **state)
{
	char path[4096], want[4400];

	(void)state;
	path_in(path, sizeof(path), fulldir, "tls/missing.pem");
	snprintf(want, sizeof(want), ":9:11: listen.tls.cert: %s: No such "
		 "file or directory", path);
	expect_file_refused("cert: tls/server.pem", "cert: tls/missing.pem",
			    want);
	expect_file_refused("cert: tls/server.pem", "cert: tls",
			    "listen.tls.cert: ");
	expect_file_refused("cert: tls/server.pem", "cert: tls",
			    "/tls: not a regular file");
	expect_file_refused("client_ca: tls/admin-ca.pem",
			    "client_ca: /dev/null", ":30:16: admin.tls."
			    "client_ca: /dev/null: not a regular file");
	write_at(fulldir, "empty.pem", "", 0644);
	expect_file_refused("cert: tls/server.pem", "cert: empty.pem",
			    "/empty.pem: empty file");
	/* A private key every user may read is refused; a group may. */
	write_at(fulldir, "open.key", "key\n", 0644);
	expect_file_refused("key: tls/server.key", "key: open.key",
			    ":10:10: listen.tls.key: ");
	expect_file_refused("key: tls/server.key", "key: open.key",
			    "/open.key: a private key every user may read or "
			    "write (chmod o-rwx)");
	write_at(fulldir, "open.key", "key\n", 0602);
	expect_file_refused("key: tls/server.key", "key: open.key",
			    "a private key every user may read");
	expect_file_refused("dir: log ", "dir: operator.pub ",
			    "log.dir: ");
	expect_file_refused("dir: log ", "dir: operator.pub ",
			    "/operator.pub: Not a directory");
	expect_file_refused("dir: log ", "dir: nolog ",
			    "/nolog: No such file or directory");
	expect_file_refused("store: state/keys.db", "store: nodir/keys.db",
			    ":51:10: keys.store: ");
	expect_file_refused("store: state/keys.db", "store: nodir/keys.db",
			    "/nodir/keys.db: its directory: No such file or "
			    "directory");
	expect_file_refused("store: state/keys.db", "store: log",
			    "/log: not a regular file");
	write_at(fulldir, "state/open.db", "db\n", 0646);
	expect_file_refused("store: state/keys.db", "store: state/open.db",
			    "/state/open.db: every user may write it (chmod "
			    "o-w)");
	expect_file_refused("rules: injection.rules", "rules: none.rules",
			    "injection.rules: ");
	expect_file_refused("payload_key: operator.pub",
			    "payload_key: tls/none.pub",
			    "log.payload_key: ");
	path_in(path, sizeof(path), fulldir, "empty.pem");
	assert_int_equal(unlink(path), 0);
	path_in(path, sizeof(path), fulldir, "open.key");
	assert_int_equal(unlink(path), 0);
	/* Without the check, nothing is opened: the same file parses. */
	path_in(path, sizeof(path), fulldir, "tls/server.key");
	assert_int_equal(chmod(path, 0644), 0);
	{
		struct pal_gw_config *c = NULL;
		struct pal_err err;
		char *yaml = read_data("full.yaml", NULL);

		assert_int_equal(parse_flags(yaml, "/nonexistent", 0, &c,
					     &err), 0);
		pal_gw_config_free(c);
		refused_flags(yaml, fulldir, PAL_GW_CONFIG_CHECK_FILES,
			      PAL_ERR_POLICY, ":10:10: listen.tls.key: ");
		free(yaml);
	}
	assert_int_equal(chmod(path, 0600), 0);
}

/* ---------------------------------------------------------------------
 * Limits.
 */

/*
 * base, then head, then n copies of item with each '@' in it replaced by
 * the copy's number.
 */
static char *
with_many(const char *base, const char *head, const char *item, int n)
{
	struct pal_buf b;
	int r = 0;

	pal_buf_init(&b, PAL_GW_CONFIG_MAX * 2);
	r |= pal_buf_puts(&b, base);
	r |= pal_buf_puts(&b, head);
	for (int i = 0; i < n; i++)
		for (const char *p = item; *p != '\0'; p++)
			r |= *p == '@' ? pal_buf_printf(&b, "%d", i) :
			     pal_buf_putc(&b, *p);
	assert_int_equal(r, 0);
	return (char *)pal_buf_steal(&b, NULL);
}

static void
expect_count_limit(const char *base, int base_lines, const char *head,
		   int head_lines, const char *item, int max, int col,
		   const char *path)
{
	struct pal_gw_config *c;
	char want[256];
	char *yaml;

	yaml = with_many(base, head, item, max);
	c = parse_ok(yaml);
	pal_gw_config_free(c);
	free(yaml);
	yaml = with_many(base, head, item, max + 1);
	snprintf(want, sizeof(want), NAME ":%d:%d: %s: too many entries (at "
		 "most %d)", base_lines + head_lines + max + 1, col, path, max);
	refused(yaml, want);
	free(yaml);
}

static void
count_limits(void **state)
{
	(void)state;
	expect_count_limit(NO_UP, 13, "upstreams:\n", 1,
			   "  - {name: u@, url: \"unix:/u\", models: [m@]}\n",
			   PAL_GW_MAX_UPSTREAMS, 5, "upstreams");
	expect_count_limit(NO_ROLES, 12, "roles:\n", 1,
			   "  - {name: r@, models: [\"*\"], routes: [chat]}\n",
			   PAL_GW_MAX_ROLES, 5, "roles");
	expect_count_limit(NO_UP, 13, "upstreams:\n  - name: u\n"
			   "    url: unix:/u\n    models:\n", 4,
			   "      - m@\n", PAL_GW_MAX_UPSTREAM_MODELS, 9,
			   "upstreams[0].models");
	expect_count_limit(NO_UP, 13, "upstreams:\n  - name: u\n"
			   "    url: unix:/u\n    routes:\n", 4,
			   "      - {path: /v1/r@, kind: chat}\n",
			   PAL_GW_MAX_ROUTES, 9, "upstreams[0].routes");
	expect_count_limit(NO_ROLES, 12, ROLE_HEAD "    conditions:\n"
			   "      networks:\n", 6, "        - \"10.@.0.0/16\"\n",
			   PAL_GW_MAX_NETWORKS, 11,
			   "roles[0].conditions.networks");
	expect_count_limit(NO_ROLES, 12, "roles:\n  - name: r\n"
			   "    routes: [chat]\n    models:\n", 4,
			   "      - \"m@*\"\n", PAL_GW_MAX_ROLE_MODELS, 9,
			   "roles[0].models");
	expect_count_limit(BASE, 16, "responses:\n  strip:\n", 2,
			   "    - f@\n", PAL_GW_MAX_STRIP, 7, "responses.strip");
}

/* Strings: exactly at the limit is fine, one more is not. */
static void
expect_length_limit(const char *before, size_t max, char fill,
		    const char *after, const char *want)
{
	struct pal_gw_config *c;
	struct pal_buf b;

	for (size_t n = max; n <= max + 1; n++) {
		pal_buf_init(&b, 1 << 20);
		assert_int_equal(pal_buf_puts(&b, before), 0);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(pal_buf_putc(&b, fill), 0);
		assert_int_equal(pal_buf_puts(&b, after), 0);
		if (n == max) {
			c = parse_ok((char *)b.p);
			pal_gw_config_free(c);
		} else {
			refused((char *)b.p, want);
		}
		pal_buf_free(&b);
	}
}

static void
length_limits(void **state)
{
	char want[128];

	(void)state;
	snprintf(want, sizeof(want), NAME ":14:11: roles[0].name: 'rrr");
	expect_length_limit(NO_ROLES "roles:\n  - name: ", PAL_GW_NAME_MAX,
			    'r', "\n    models: [\"*\"]\n    routes: [chat]\n",
			    want);
	snprintf(want, sizeof(want), "is longer than %d bytes",
		 PAL_GW_NAME_MAX);
	expect_length_limit(NO_ROLES "roles:\n  - name: ", PAL_GW_NAME_MAX,
			    'r', "\n    models: [\"*\"]\n    routes: [chat]\n",
			    want);
	snprintf(want, sizeof(want), "roles[0].models[0]: 'mmm");
	expect_length_limit(NO_ROLES "roles:\n  - name: r\n    routes: "
			    "[chat]\n    models: [\"", PAL_GW_MODEL_MAX, 'm',
			    "\"]\n", want);
	snprintf(want, sizeof(want), "is longer than %d bytes",
		 PAL_GW_PATH_MAX - 1);
	expect_length_limit(BASE "injection:\n  rules: /", PAL_GW_PATH_MAX - 2,
			    'p', "\n", want);
	/* A relative path that only gets too long once resolved. */
	snprintf(want, sizeof(want), "injection.rules: 'ppp");
	expect_length_limit(BASE "injection:\n  rules: ",
			    PAL_GW_PATH_MAX - sizeof("/etc/palisade/"), 'p',
			    "\n", "is longer than 4095 bytes once resolved");
}

static void
size_limit(void **state)
{
	struct pal_gw_config *c = (struct pal_gw_config *)1;
	struct pal_err err;
	size_t n = PAL_GW_CONFIG_MAX + 1;
	uint8_t *big = malloc(n);

	(void)state;
	assert_non_null(big);
	memset(big, '#', n);
	assert_int_equal(pal_gw_config_parse(big, n, NAME, NULL, 0, &c, &err),
			 PAL_ERR_LIMIT);
	assert_null(c);
	assert_string_equal(err.msg, NAME ": configuration larger than "
			    "262144 bytes");
	/* A comment-only file of the maximum size is read, and is empty. */
	assert_int_equal(pal_gw_config_parse(big, n - 1, NAME, NULL, 0, &c,
					     &err), PAL_ERR_POLICY);
	assert_non_null(strstr(err.msg, "empty configuration"));
	free(big);
	assert_int_equal(pal_gw_config_parse(NULL, 0, NULL, NULL, 0, &c, &err),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_gw_config_parse(NULL, 1, NAME, NULL, 0, &c, &err),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_gw_config_parse((const uint8_t *)"", 0, NAME,
					     NULL, 0x80, &c, &err),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_gw_config_parse((const uint8_t *)"", 0, NAME,
					     NULL, 0, NULL, &err),
			 PAL_ERR_INVALID);
	pal_gw_config_free(NULL);
}

/* Without a base directory, relative paths stay relative. */
static void
no_base_dir(void **state)
{
	struct pal_gw_config *c = NULL;
	struct pal_err err;

	(void)state;
	assert_int_equal(parse_flags(BASE, NULL, 0, &c, &err), 0);
	assert_string_equal(c->listen.tls.cert, "c.pem");
	assert_string_equal(c->base_dir, "");
	pal_gw_config_free(c);
	assert_int_equal(parse_flags(BASE "injection: {rules: /r}\n", "", 0,
				     &c, &err), 0);
	assert_string_equal(c->keys.store, "keys.db");
	assert_string_equal(c->injection.rules, "/r");
	pal_gw_config_free(c);
}

/* ---------------------------------------------------------------------
 * Values at their edges.
 */

static void
cidr_ok(const char *s, const char *hex, unsigned prefix)
{
	struct pal_gw_cidr c;
	uint8_t want[16];

	if (pal_gw_cidr_parse(s, strlen(s), &c) != 0) {
		print_error("'%s' refused\n", s);
		fail();
	}
	for (int i = 0; i < 16; i++) {
		unsigned v;

		assert_true(hex[2 * i] != '\0');
		v = (unsigned)strtoul((char[3]){ hex[2 * i], hex[2 * i + 1], 0 },
				      NULL, 16);
		want[i] = (uint8_t)v;
	}
	assert_memory_equal(c.addr, want, 16);
	assert_int_equal(c.prefix, prefix);
}

static void
cidr_bad(const char *s)
{
	struct pal_gw_cidr c;

	if (pal_gw_cidr_parse(s, strlen(s), &c) != PAL_ERR_FORMAT) {
		print_error("'%s' accepted\n", s);
		fail();
	}
}

/* addr as a 16-byte address, IPv4 mapped. */
static void
addr16(const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (strchr(s, ':') != NULL) {
		assert_int_equal(inet_pton(AF_INET6, s, out), 1);
		return;
	}
	out[10] = out[11] = 0xff;
	assert_int_equal(inet_pton(AF_INET, s, out + 12), 1);
}

static int
in(const char *net, const char *addr)
{
	struct pal_gw_cidr c;
	uint8_t a[16];

	assert_int_equal(pal_gw_cidr_parse(net, strlen(net), &c), 0);
	addr16(addr, a);
	return pal_gw_cidr_contains(&c, a);
}

static void
cidr_edges(void **state)
{
	(void)state;
	cidr_ok("10.0.0.0/8", "00000000000000000000ffff0a000000", 104);
	cidr_ok("0.0.0.0/0", "00000000000000000000ffff00000000", 96);
	cidr_ok("192.0.2.7", "00000000000000000000ffffc0000207", 128);
	cidr_ok("192.0.2.7/32", "00000000000000000000ffffc0000207", 128);
	cidr_ok("::/0", "00000000000000000000000000000000", 0);
	cidr_ok("::1", "00000000000000000000000000000001", 128);
	cidr_ok("2001:db8::/32", "20010db8000000000000000000000000", 32);
	cidr_ok("2001:db8:8000::/33", "20010db8800000000000000000000000", 33);
	cidr_ok("::ffff:10.0.0.0/104", "00000000000000000000ffff0a000000",
		104);
	cidr_bad("");
	cidr_bad("/8");
	cidr_bad("10.0.0.1/8");			/* host bits */
	cidr_bad("2001:db8:4000::/33");		/* host bits */
	cidr_bad("10.0.0.0/33");
	cidr_bad("::/129");
	cidr_bad("10.0.0.0/");
	cidr_bad("10.0.0.0/08");
	cidr_bad("10.0.0.0/+8");
	cidr_bad("10.0.0.0/-8");
	cidr_bad("10.0.0.0/8/8");
	cidr_bad("10.0.0.0 /8");
	cidr_bad("10.0.0/8");
	cidr_bad("010.0.0.0/8");
	cidr_bad("10.0.0.256");
	cidr_bad("fe80::1%eth0");
	cidr_bad("fe80::/10%eth0");
	cidr_bad("localhost");
	cidr_bad("2001:db8::/1000");
	{
		struct pal_gw_cidr c;

		/* A NUL inside, and a length that stops before the prefix. */
		assert_int_equal(pal_gw_cidr_parse("10.0.0.0\0/8", 11, &c),
				 PAL_ERR_FORMAT);
		assert_int_equal(pal_gw_cidr_parse("10.0.0.0/8", 8, &c), 0);
		assert_int_equal(c.prefix, 128);
		assert_int_equal(pal_gw_cidr_parse(NULL, 0, &c),
				 PAL_ERR_FORMAT);
	}
	assert_true(in("10.0.0.0/8", "10.255.255.255"));
	assert_true(in("10.0.0.0/8", "10.0.0.0"));
	assert_false(in("10.0.0.0/8", "11.0.0.0"));
	assert_false(in("10.0.0.0/8", "9.255.255.255"));
	assert_true(in("192.0.2.128/25", "192.0.2.255"));
	assert_false(in("192.0.2.128/25", "192.0.2.127"));
	assert_true(in("0.0.0.0/0", "203.0.113.9"));
	/* IPv4's /0 is every IPv4 address, and no IPv6 one. */
	assert_false(in("0.0.0.0/0", "2001:db8::1"));
	assert_true(in("::/0", "2001:db8::1"));
	assert_true(in("::/0", "10.1.2.3"));
	assert_true(in("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(in("2001:db8::/32", "2001:db9::"));
	assert_true(in("192.0.2.7", "192.0.2.7"));
	assert_false(in("192.0.2.7", "192.0.2.6"));
	assert_true(in("::ffff:10.0.0.0/104", "10.9.9.9"));
}

static void
hours_ok(const char *h, unsigned from, unsigned to)
{
	char yaml[512];
	struct pal_gw_config *c;

	snprintf(yaml, sizeof(yaml), NO_ROLES ROLE_HEAD "    conditions:\n"
		 "      hours: \"%s\"\n", h);
	c = parse_ok(yaml);
	assert_true(c->roles[0].has_hours);
	assert_int_equal(c->roles[0].hours_from, from);
	assert_int_equal(c->roles[0].hours_to, to);
	pal_gw_config_free(c);
}

static void
hours_bad(const char *h)
{
	char yaml[512];

	snprintf(yaml, sizeof(yaml), NO_ROLES ROLE_HEAD "    conditions:\n"
		 "      hours: \"%s\"\n", h);
	refused(yaml, "roles[0].conditions.hours: '");
}

static void
hours_edges(void **state)
{
	(void)state;
	hours_ok("08:00-18:00", 480, 1080);
	/* From after to: the window wraps past midnight. */
	hours_ok("22:00-06:00", 1320, 360);
	hours_ok("23:59-00:00", 1439, 0);
	/* 24:00 ends a window at midnight; it is stored as 0. */
	hours_ok("22:00-24:00", 1320, 0);
	hours_ok("00:01-24:00", 1, 0);
	hours_ok("00:00-23:59", 0, 1439);
	hours_bad("00:00-24:00");	/* the same minute: leave hours out */
	hours_bad("12:00-12:00");
	hours_bad("24:00-06:00");
	hours_bad("22:00-24:01");
	hours_bad("08:60-18:00");
	hours_bad("25:00-18:00");
	hours_bad("8:00-18:00");
	hours_bad("08:00-18:00 ");
	hours_bad("08:00 - 18:00");
	hours_bad("08:00~18:00");
	hours_bad("08.00-18.00");
	hours_bad("0a:00-18:00");
}

/* The example's values in other forms that mean the same. */
static void
other_spellings(void **state)
{
	struct pal_gw_config *c;

	(void)state;
	c = parse_ok(VER "listen:\n  address: \"[::1]:443\"\n  tls:\n"
		     "    cert: c\n    key: k\n    client_ca: ca\n"
		     "    min_version: 1.2\n" UP KEYS ROLES LOG
		     "requests:\n  temperature_max: 0.05\n"
		     "  max_tokens: 0\n"
		     "responses:\n  strip: []\n  strip_logprobs: false\n"
		     "abuse:\n  webhook: \"http://[::1]:9\"\n"
		     "  action: block\n"
		     "injection: {rules: r, action: flag, threshold: 50}\n");
	assert_int_equal(c->listen.address.sa.ss_family, AF_INET6);
	assert_string_equal(c->listen.address.text, "[::1]:443");
	assert_int_equal(c->listen.tls.min_version, PAL_GW_TLS1_2);
	assert_int_equal(c->listen.tls.client_auth,
			 PAL_GW_CLIENT_AUTH_REQUIRE);
	assert_true(c->body.temperature_max == 0.05);
	assert_int_equal(c->body.max_tokens, 0);
	assert_int_equal(c->output.n_strip, 0);
	assert_false(c->output.strip_choice_logprobs);
	assert_string_equal(c->abuse_webhook.host, "[::1]:9");
	assert_string_equal(c->abuse_webhook.path, "/");
	assert_true(c->abuse.block);
	assert_true(c->injection.enabled);
	assert_false(c->injection.block);
	assert_int_equal(c->injection.threshold, 50);
	pal_gw_config_free(c);
	/* Injection checks off; lockout off. */
	c = parse_ok(VER LISTEN UP ROLES LOG "injection: {action: off}\n"
		     "keys: {store: k.db, lockout: {failures: 0}}\n");
	assert_false(c->injection.enabled);
	assert_false(c->injection.block);
	assert_int_equal(c->keys.lockout.failures, 0);
	pal_gw_config_free(c);
	/* A smaller body caps the default prompt size. */
	c = parse_ok(VER "listen:\n  tls: {cert: c, key: k}\n"
		     "  limits: {max_body_bytes: 4096}\n" UP KEYS ROLES LOG);
	assert_int_equal(c->body.max_body, 4096);
	assert_int_equal(c->body.max_prompt, 4096);
	pal_gw_config_free(c);
	/* A role's max_tokens is free when the gateway sets no ceiling. */
	c = parse_ok(NO_ROLES ROLE_HEAD "    conditions: {max_tokens: 900000}"
		     "\nrequests: {max_tokens: 0}\n");
	assert_int_equal(c->roles[0].max_tokens, 900000);
	pal_gw_config_free(c);
	/* Admin on another port of the same address. */
	c = parse_ok(BASE "admin:\n  address: \"127.0.0.1:9443\"\n" TLS_ABC);
	assert_string_equal(c->admin.address.text, "127.0.0.1:9443");
	pal_gw_config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_example_loads),
		cmocka_unit_test(relative_load_resolves_absolute),
		cmocka_unit_test(docs_show_the_example),
		cmocka_unit_test(minimal_has_defaults),
		cmocka_unit_test(builtin_default),
		cmocka_unit_test(clients_match_certificates),
		cmocka_unit_test(mistakes_are_refused),
		cmocka_unit_test(invalid_files_are_refused),
		cmocka_unit_test(named_files_are_checked),
		cmocka_unit_test(count_limits),
		cmocka_unit_test(length_limits),
		cmocka_unit_test(size_limit),
		cmocka_unit_test(no_base_dir),
		cmocka_unit_test(cidr_edges),
		cmocka_unit_test(hours_edges),
		cmocka_unit_test(other_spellings),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
