/*
 * metrics.c - the gateway's counters, for the admin listener's /metrics
 * (Prometheus text exposition format 0.0.4).  Relaxed atomics: a scrape
 * sees each counter exact, not all of them at one instant.
 */
#include <stdio.h>

#include <event2/buffer.h>

#include "gw_int.h"

static const struct {
	const char *name;
	const char *help;
	const char *label;		/* NULL, or name="value" */
} counters[GW_M_COUNTERS] = {
	[GW_M_CONNECTIONS] = { "palisade_connections_total",
			       "Client connections accepted.", NULL },
	[GW_M_HANDSHAKE_FAILED] = { "palisade_tls_handshake_failures_total",
				    "TLS handshakes that failed.", NULL },
	[GW_M_REQUESTS] = { "palisade_requests_total",
			    "Request heads parsed.", NULL },
	[GW_M_RESP_2XX] = { "palisade_responses_total", "Responses by class.",
			    "class=\"2xx\"" },
	[GW_M_RESP_4XX] = { "palisade_responses_total", NULL,
			    "class=\"4xx\"" },
	[GW_M_RESP_5XX] = { "palisade_responses_total", NULL,
			    "class=\"5xx\"" },
	[GW_M_REFUSED_HTTP] = { "palisade_refused_total",
				"Requests refused, by reason.",
				"reason=\"http\"" },
	[GW_M_REFUSED_AUTH] = { "palisade_refused_total", NULL,
				"reason=\"authentication\"" },
	[GW_M_REFUSED_LOCKOUT] = { "palisade_refused_total", NULL,
				   "reason=\"lockout\"" },
	[GW_M_REFUSED_BLOCKED] = { "palisade_refused_total", NULL,
				   "reason=\"blocked\"" },
	[GW_M_REFUSED_AUTHZ] = { "palisade_refused_total", NULL,
				 "reason=\"authorization\"" },
	[GW_M_REFUSED_BODY] = { "palisade_refused_total", NULL,
				"reason=\"body\"" },
	[GW_M_REFUSED_INJECTION] = { "palisade_refused_total", NULL,
				     "reason=\"injection\"" },
	[GW_M_FLAGGED_INJECTION] = { "palisade_injection_flagged_total",
				     "Requests flagged, not blocked, by the "
				     "prompt rules.", NULL },
	[GW_M_RATE_LIMITED] = { "palisade_refused_total", NULL,
				"reason=\"rate_limit\"" },
	[GW_M_ABUSE_ALERTS] = { "palisade_abuse_alerts_total",
				"Abuse signals that fired.", NULL },
	[GW_M_UPSTREAM_ERRORS] = { "palisade_upstream_failures_total",
				   "Upstream failures, by kind.",
				   "kind=\"error\"" },
	[GW_M_UPSTREAM_TIMEOUTS] = { "palisade_upstream_failures_total", NULL,
				     "kind=\"timeout\"" },
	[GW_M_STREAMS] = { "palisade_streams_total",
			   "Streamed (SSE) responses.", NULL },
	[GW_M_TOKENS_PROMPT] = { "palisade_tokens_total",
				 "Tokens the upstream reported.",
				 "kind=\"prompt\"" },
	[GW_M_TOKENS_COMPLETION] = { "palisade_tokens_total", NULL,
				     "kind=\"completion\"" },
	[GW_M_BYTES_IN] = { "palisade_bytes_total",
			    "Request and response bytes.",
			    "direction=\"in\"" },
	[GW_M_BYTES_OUT] = { "palisade_bytes_total", NULL,
			     "direction=\"out\"" },
	[GW_M_LOG_FAILED] = { "palisade_refused_total", NULL,
			      "reason=\"log\"" },
};

/* Upper bounds of the latency buckets, in milliseconds. */
static const unsigned bounds_ms[12] = { 1, 2, 5, 10, 25, 50, 100, 250, 500,
					1000, 5000, 30000 };

void
gw_metric_add(struct gw_metrics *m, enum gw_counter c, uint64_t n)
{
	atomic_fetch_add_explicit(&m->c[c], n, memory_order_relaxed);
}

void
gw_metric_latency(struct gw_metrics *m, uint64_t us)
{
	for (size_t i = 0; i < 12; i++) {
		if (us <= (uint64_t)bounds_ms[i] * 1000) {
			atomic_fetch_add_explicit(&m->lat_bucket[i], 1,
						  memory_order_relaxed);
			break;
		}
	}
	atomic_fetch_add_explicit(&m->lat_sum_us, us, memory_order_relaxed);
}

static void
render_latency(const struct gw_metrics *m, struct evbuffer *b)
{
	unsigned long long cum = 0, total;

	evbuffer_add_printf(b, "# HELP palisade_request_seconds Time from a "
			    "request's first byte to its last response "
			    "byte.\n# TYPE palisade_request_seconds "
			    "histogram\n");
	for (size_t i = 0; i < 12; i++) {
		cum += atomic_load_explicit(&m->lat_bucket[i],
					    memory_order_relaxed);
		evbuffer_add_printf(b, "palisade_request_seconds_bucket"
				    "{le=\"%g\"} %llu\n",
				    bounds_ms[i] / 1000.0, cum);
	}
	total = cum;
	evbuffer_add_printf(b, "palisade_request_seconds_bucket{le=\"+Inf\"} "
			    "%llu\npalisade_request_seconds_sum %.6f\n"
			    "palisade_request_seconds_count %llu\n", total,
			    atomic_load_explicit(&m->lat_sum_us,
						 memory_order_relaxed) / 1e6,
			    total);
}

int
gw_metrics_render(const struct gw_metrics *m, struct evbuffer *b)
{
	for (size_t i = 0; i < GW_M_COUNTERS; i++) {
		unsigned long long v = atomic_load_explicit(
			&m->c[i], memory_order_relaxed);
		if (counters[i].help != NULL)
			evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s "
					    "counter\n", counters[i].name,
					    counters[i].help,
					    counters[i].name);
		if (counters[i].label != NULL)
			evbuffer_add_printf(b, "%s{%s} %llu\n",
					    counters[i].name,
					    counters[i].label, v);
		else
			evbuffer_add_printf(b, "%s %llu\n", counters[i].name,
					    v);
	}
	evbuffer_add_printf(b, "# HELP palisade_open_connections Client "
			    "connections open now.\n# TYPE "
			    "palisade_open_connections gauge\n"
			    "palisade_open_connections %lld\n",
			    (long long)atomic_load(&m->open_connections));
	render_latency(m, b);
	return 0;
}
