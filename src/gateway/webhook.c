/*
 * webhook.c - alerts posted to the operator's webhook (gw_int.h).
 *
 * When an abuse signal fires, its alert (the same JSON the log records)
 * is POSTed to the configured webhook, on loopback like the upstreams,
 * from the worker that saw it.  Fire and forget: the request never waits
 * for it, a webhook that is down or slow costs one connection for at
 * most WEBHOOK_TIMEOUT_S, and the log entry is the record that counts.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "gw_int.h"

#define WEBHOOK_TIMEOUT_S 5

static void
done(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

static void
drain(struct bufferevent *bev, void *arg)
{
	(void)arg;
	evbuffer_drain(bufferevent_get_input(bev),
		       evbuffer_get_length(bufferevent_get_input(bev)));
}

void
gw_webhook_post(struct event_base *base, const struct pal_gw_endpoint *to,
		const char *json, size_t len)
{
	struct bufferevent *bev;
	struct timeval t = { WEBHOOK_TIMEOUT_S, 0 };
	struct evbuffer *out;

	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return;
	bufferevent_setcb(bev, drain, NULL, done, NULL);
	bufferevent_set_timeouts(bev, &t, &t);
	out = bufferevent_get_output(bev);
	evbuffer_add_printf(out, "POST %s HTTP/1.1\r\nHost: %s\r\n"
			    "Content-Type: application/json\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n"
			    "\r\n", to->path ? to->path : "/", to->host, len);
	evbuffer_add(out, json, len);
	if (bufferevent_socket_connect(bev, (const struct sockaddr *)&to->sa,
				       (int)to->salen) < 0) {
		bufferevent_free(bev);
		return;
	}
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}
