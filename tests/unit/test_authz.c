/*
 * test_authz.c - roles and conditions: each rule alone (routes, models by
 * glob, networks in IPv4, IPv6 and IPv4-mapped form, hours with and
 * without a wrap past midnight, the max_tokens ceiling), their order, and
 * the client-safe reasons, exactly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "palisade/authz.h"
#include "palisade/gwconfig.h"

/* 2023-11-14 00:00:00 UTC, a midnight. */
#define DAY0 1699920000LL
#define AT(h, m) (DAY0 + (h) * 3600LL + (m) * 60LL)

static char *models[] = { "llama-3-*", "meta-llama/*", "mistral" };

static struct pal_gw_role
analyst(void)
{
	struct pal_gw_role r;

	memset(&r, 0, sizeof(r));
	r.name = "analyst";
	r.models = models;
	r.n_models = 3;
	r.routes = PAL_GW_ROUTE_BIT(PAL_GW_CHAT) |
		PAL_GW_ROUTE_BIT(PAL_GW_MODELS);
	return r;
}

static struct pal_authz_request
chat(const char *model)
{
	struct pal_authz_request q;

	memset(&q, 0, sizeof(q));
	q.route = PAL_GW_CHAT;
	q.model = model;
	q.max_tokens = -1;
	q.now = AT(12, 0);
	/* 192.0.2.10, as an IPv4 client arrives. */
	q.addr[10] = q.addr[11] = 0xff;
	q.addr[12] = 192;
	q.addr[14] = 2;
	q.addr[15] = 10;
	return q;
}

static int
decide(const struct pal_gw_role *r, const struct pal_authz_request *q,
       struct pal_authz_decision *d)
{
	int rc = pal_authz_check(r, q, d);

	assert_int_equal(rc == 0, d->status == 0);
	assert_int_equal(rc == 0, d->why == PAL_AUTHZ_ALLOWED);
	return rc;
}

static void
expect_refusal(const struct pal_gw_role *r,
	       const struct pal_authz_request *q, enum pal_authz_why why,
	       int status, const char *reason)
{
	struct pal_authz_decision d;

	assert_int_equal(decide(r, q, &d), PAL_ERR_VERIFY);
	assert_int_equal(d.why, why);
	assert_int_equal(d.status, status);
	if (reason != NULL)
		assert_string_equal(d.reason, reason);
}

static void
models_by_glob(void **state)
{
	struct pal_gw_role r = analyst();
	struct pal_authz_request q;
	struct pal_authz_decision d;
	static const char *const yes[] = {
		"llama-3-8b", "llama-3-", "meta-llama/Llama-3-8B-Instruct",
		"meta-llama/a/b", "mistral",
	};
	static const char *const no[] = {
		"llama-2-7b", "mistral-7b", "Mistral", "meta-llama",
		"xmeta-llama/x", "gpt-4",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		q = chat(yes[i]);
		assert_int_equal(decide(&r, &q, &d), 0);
		assert_true(pal_authz_model_granted(&r, yes[i]));
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		q = chat(no[i]);
		expect_refusal(&r, &q, PAL_AUTHZ_MODEL, 403, NULL);
		assert_false(pal_authz_model_granted(&r, no[i]));
	}
	q = chat("gpt-4");
	expect_refusal(&r, &q, PAL_AUTHZ_MODEL, 403,
		       "model 'gpt-4' is not granted to role 'analyst'");

	/* "*" grants every model; no globs grant none. */
	char *all[] = { "*" };
	r.models = all;
	r.n_models = 1;
	q = chat("anything/at:all");
	assert_int_equal(decide(&r, &q, &d), 0);
	r.n_models = 0;
	expect_refusal(&r, &q, PAL_AUTHZ_MODEL, 403, NULL);
}

static void
model_names_and_reasons(void **state)
{
	struct pal_gw_role r = analyst();
	struct pal_authz_request q;
	char long_name[300];

	(void)state;
	/* Shown through a filter: quotes and backslashes are not echoed. */
	q = chat("a'b\"c\\d");
	expect_refusal(&r, &q, PAL_AUTHZ_MODEL, 403,
		       "model 'a?b?c?d' is not granted to role 'analyst'");
	/* Not a name: 400, not matched. */
	q = chat("llama-3-8b\n");
	expect_refusal(&r, &q, PAL_AUTHZ_MODEL, 400,
		       "model 'llama-3-8b?' is not a model name");
	q = chat("llama-3- 8b");
	expect_refusal(&r, &q, PAL_AUTHZ_MODEL, 400, NULL);
	q = chat("llama-3-\xc3\xa9");
	expect_refusal(&r, &q, PAL_AUTHZ_MODEL, 400, NULL);
	q = chat("");
	expect_refusal(&r, &q, PAL_AUTHZ_MODEL, 400, NULL);
	/* Long names: 256 bytes are matched, 257 are not; 64 are shown. */
	memcpy(long_name, "llama-3-", 8);
	memset(long_name + 8, 'x', 248);
	long_name[256] = '\0';
	q = chat(long_name);
	struct pal_authz_decision d;
	assert_int_equal(decide(&r, &q, &d), 0);
	long_name[256] = 'x';
	long_name[257] = '\0';
	expect_refusal(&r, &q, PAL_AUTHZ_MODEL, 400, NULL);
	assert_int_equal(pal_authz_check(&r, &q, &d), PAL_ERR_VERIFY);
	assert_non_null(strstr(d.reason, "xxx...' is not"));
	assert_true(strlen(d.reason) < 64 + 40);
	/* The route needs a model; the list of models does not. */
	q = chat(NULL);
	expect_refusal(&r, &q, PAL_AUTHZ_NO_MODEL, 400,
		       "the request names no model");
	q.route = PAL_GW_MODELS;
	assert_int_equal(decide(&r, &q, &d), 0);
}

static void
routes(void **state)
{
	struct pal_gw_role r = analyst();
	struct pal_authz_request q = chat("mistral");
	struct pal_authz_decision d;

	(void)state;
	q.route = PAL_GW_EMBEDDING;
	expect_refusal(&r, &q, PAL_AUTHZ_ROUTE, 403,
		       "route not granted to role 'analyst'");
	q.route = PAL_GW_COMPLETION;
	expect_refusal(&r, &q, PAL_AUTHZ_ROUTE, 403, NULL);
	r.routes |= PAL_GW_ROUTE_BIT(PAL_GW_COMPLETION);
	assert_int_equal(decide(&r, &q, &d), 0);
	q.route = (enum pal_gw_route_kind)PAL_GW_ROUTE_KINDS;
	assert_int_equal(pal_authz_check(&r, &q, &d), PAL_ERR_INVALID);
	assert_int_equal(d.status, 403);
	r.routes = 0;
	q.route = PAL_GW_MODELS;
	q.model = NULL;
	expect_refusal(&r, &q, PAL_AUTHZ_ROUTE, 403, NULL);
}

static void
hours(void **state)
{
	struct pal_gw_role r = analyst();
	struct pal_authz_request q = chat("mistral");
	struct pal_authz_decision d;
	static const struct {
		int h, m, ok;
	} day[] = {
		{ 8, 59, 0 }, { 9, 0, 1 }, { 12, 30, 1 }, { 16, 59, 1 },
		{ 17, 0, 0 }, { 23, 59, 0 }, { 0, 0, 0 },
	}, night[] = {
		{ 22, 0, 1 }, { 23, 59, 1 }, { 0, 0, 1 }, { 3, 0, 1 },
		{ 5, 59, 1 }, { 6, 0, 0 }, { 12, 0, 0 }, { 21, 59, 0 },
	};

	(void)state;
	r.has_hours = 1;
	r.hours_from = 9 * 60;
	r.hours_to = 17 * 60;
	for (size_t i = 0; i < sizeof(day) / sizeof(day[0]); i++) {
		/* Seconds within the minute do not matter. */
		q.now = AT(day[i].h, day[i].m) + 59;
		if (day[i].ok)
			assert_int_equal(decide(&r, &q, &d), 0);
		else
			expect_refusal(&r, &q, PAL_AUTHZ_HOURS, 403,
				       "outside the role's hours");
	}
	/* 22:00 to 06:00 wraps past midnight; days later alike. */
	r.hours_from = 22 * 60;
	r.hours_to = 6 * 60;
	for (size_t i = 0; i < sizeof(night) / sizeof(night[0]); i++) {
		q.now = AT(night[i].h, night[i].m) + 86400 * 400;
		if (night[i].ok)
			assert_int_equal(decide(&r, &q, &d), 0);
		else
			expect_refusal(&r, &q, PAL_AUTHZ_HOURS, 403, NULL);
	}
	/* Before 1970: the last minute of 1969-12-31 is 23:59. */
	q.now = -1;
	assert_int_equal(decide(&r, &q, &d), 0);
	r.hours_from = 23 * 60 + 59;
	r.hours_to = 24 * 60;
	assert_int_equal(decide(&r, &q, &d), 0);
	q.now = -61;
	expect_refusal(&r, &q, PAL_AUTHZ_HOURS, 403, NULL);
	/* An empty window refuses; no window allows. */
	r.hours_from = r.hours_to = 600;
	q.now = AT(10, 0);
	expect_refusal(&r, &q, PAL_AUTHZ_HOURS, 403, NULL);
	r.has_hours = 0;
	assert_int_equal(decide(&r, &q, &d), 0);
}

static struct pal_gw_cidr
net(const char *text, int prefix)
{
	struct pal_gw_cidr c;
	struct in_addr a4;

	memset(&c, 0, sizeof(c));
	if (inet_pton(AF_INET, text, &a4) == 1) {
		c.addr[10] = c.addr[11] = 0xff;
		memcpy(c.addr + 12, &a4, 4);
		c.prefix = (uint8_t)(96 + prefix);
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, c.addr), 1);
		c.prefix = (uint8_t)prefix;
	}
	return c;
}

/* The request as it comes from a socket address of text. */
static void
from(struct pal_authz_request *q, const char *text)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;

	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (inet_pton(AF_INET, text, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		assert_int_equal(pal_authz_addr((struct sockaddr *)&s4,
						sizeof(s4), q->addr), 0);
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, text, &s6.sin6_addr), 1);
	s6.sin6_family = AF_INET6;
	assert_int_equal(pal_authz_addr((struct sockaddr *)&s6, sizeof(s6),
					q->addr), 0);
}

static void
networks(void **state)
{
	struct pal_gw_role r = analyst();
	struct pal_authz_request q = chat("mistral");
	struct pal_authz_decision d;
	struct pal_gw_cidr nets[] = {
		net("10.0.0.0", 8), net("192.168.8.0", 21),
		net("2001:db8::", 32), net("fd00:1:2:3::", 64),
	};
	static const struct {
		const char *addr;
		int ok;
	} cases[] = {
		{ "10.1.2.3", 1 }, { "10.255.255.255", 1 }, { "11.0.0.1", 0 },
		{ "9.255.255.255", 0 },
		{ "::ffff:10.1.2.3", 1 },	/* IPv4-mapped from a v6 socket */
		{ "::ffff:11.1.2.3", 0 },
		{ "::10.1.2.3", 0 },		/* IPv4-compatible is not v4 */
		{ "192.168.8.0", 1 }, { "192.168.15.255", 1 },
		{ "192.168.16.0", 0 }, { "192.168.7.255", 0 },
		{ "2001:db8::1", 1 }, { "2001:db8:ffff::1", 1 },
		{ "2001:db9::1", 0 }, { "2001:db7:ffff::", 0 },
		{ "fd00:1:2:3:ffff::1", 1 }, { "fd00:1:2:4::1", 0 },
		{ "::1", 0 }, { "::", 0 },
	};

	(void)state;
	r.networks = nets;
	r.n_networks = sizeof(nets) / sizeof(nets[0]);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		from(&q, cases[i].addr);
		if (cases[i].ok) {
			if (decide(&r, &q, &d) != 0)
				fail_msg("%s refused", cases[i].addr);
		} else {
			expect_refusal(&r, &q, PAL_AUTHZ_NETWORK, 403,
				       "source network not allowed");
		}
	}
	/* Prefix edges: /0 is everything, /128 one address, > 128 none. */
	struct pal_gw_cidr c = net("2001:db8::7", 128);
	from(&q, "2001:db8::7");
	assert_true(pal_gw_cidr_contains(&c, q.addr));
	from(&q, "2001:db8::6");
	assert_false(pal_gw_cidr_contains(&c, q.addr));
	c.prefix = 0;
	assert_true(pal_gw_cidr_contains(&c, q.addr));
	c.prefix = 129;
	assert_false(pal_gw_cidr_contains(&c, q.addr));
	/* ::ffff:0.0.0.0/96 is every IPv4 client and no IPv6 one. */
	c = net("0.0.0.0", 0);
	from(&q, "203.0.113.9");
	assert_true(pal_gw_cidr_contains(&c, q.addr));
	from(&q, "2001:db8::1");
	assert_false(pal_gw_cidr_contains(&c, q.addr));
}

static void
addresses(void **state)
{
	struct sockaddr_in s4;
	struct sockaddr sa;
	uint8_t out[16];

	(void)state;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	assert_int_equal(pal_authz_addr((struct sockaddr *)&s4,
					sizeof(s4) - 1, out),
			 PAL_ERR_INVALID);
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	assert_int_equal(pal_authz_addr(&sa, sizeof(sa), out),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_authz_addr(NULL, 0, out), PAL_ERR_INVALID);
}

static void
max_tokens(void **state)
{
	struct pal_gw_role r = analyst();
	struct pal_authz_request q = chat("mistral");
	struct pal_authz_decision d;

	(void)state;
	r.max_tokens = 1024;
	q.max_tokens = 5000;
	expect_refusal(&r, &q, PAL_AUTHZ_MAX_TOKENS, 403,
		       "max_tokens 5000 above the role's 1024");
	q.max_tokens = 1025;
	expect_refusal(&r, &q, PAL_AUTHZ_MAX_TOKENS, 403, NULL);
	q.max_tokens = 1024;
	assert_int_equal(decide(&r, &q, &d), 0);
	assert_int_equal(d.impose_max_tokens, 0);
	/* None given: allowed, and the ceiling is to be written in. */
	q.max_tokens = -1;
	assert_int_equal(decide(&r, &q, &d), 0);
	assert_int_equal(d.impose_max_tokens, 1024);
	/* No ceiling. */
	r.max_tokens = 0;
	q.max_tokens = INT64_MAX;
	assert_int_equal(decide(&r, &q, &d), 0);
	assert_int_equal(d.impose_max_tokens, 0);
}

/* Network, hours, route, model, max_tokens: the first failure decides. */
static void
order(void **state)
{
	struct pal_gw_role r = analyst();
	struct pal_authz_request q = chat("gpt-4");
	struct pal_gw_cidr nets[] = { net("10.0.0.0", 8) };

	(void)state;
	r.networks = nets;
	r.n_networks = 1;
	r.has_hours = 1;
	r.hours_from = 0;
	r.hours_to = 60;
	r.max_tokens = 10;
	q.max_tokens = 11;
	q.route = PAL_GW_EMBEDDING;
	expect_refusal(&r, &q, PAL_AUTHZ_NETWORK, 403, NULL);
	from(&q, "10.0.0.1");
	expect_refusal(&r, &q, PAL_AUTHZ_HOURS, 403, NULL);
	q.now = AT(0, 30);
	expect_refusal(&r, &q, PAL_AUTHZ_ROUTE, 403, NULL);
	q.route = PAL_GW_CHAT;
	expect_refusal(&r, &q, PAL_AUTHZ_MODEL, 403, NULL);
	q.model = "mistral";
	expect_refusal(&r, &q, PAL_AUTHZ_MAX_TOKENS, 403, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(models_by_glob),
		cmocka_unit_test(model_names_and_reasons),
		cmocka_unit_test(routes),
		cmocka_unit_test(hours),
		cmocka_unit_test(networks),
		cmocka_unit_test(addresses),
		cmocka_unit_test(max_tokens),
		cmocka_unit_test(order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
