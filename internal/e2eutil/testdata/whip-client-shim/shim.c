/*
 * Two shims that let Debian 12's simple-whip-client (GStreamer webrtcbin + libnice) run in
 * the tests' loopback-only network namespace. Loaded with LD_PRELOAD; nothing else in the
 * client or its libraries is changed.
 *
 * 1. getifaddrs without IFF_LOOPBACK: libnice gathers no candidate on loopback interfaces,
 *    and the namespace has nothing else, so the client would have no candidate at all. With
 *    the flag cleared it gathers 127.0.0.1 like any host address.
 *
 * 2. A stand-in for libgupnp-igd-1.0.so.4 (UPnP port mapping) for Debian 12's
 * simple-whip-client, which aborts at start: it links libsoup 2, while libnice links
 * gupnp-igd, which links libsoup 3 ("libsoup2 symbols detected. Using libsoup2 and libsoup3
 * in the same process is not supported"). libnice uses four functions of the library, only
 * to ask a home router for port mappings; this stub provides them as an object that maps
 * nothing, so the unmodified client runs (the tests need no UPnP: everything is loopback).
 * It is built by the WHIP tests with `cc -shared`, its soname is the library's. No glib
 * headers are needed (Debian's libglib2.0-dev is not installed): the few GLib entry points
 * are declared here with their ABI types.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stddef.h>

int getifaddrs(struct ifaddrs **ifap) {
	static int (*real)(struct ifaddrs **);
	if (real == NULL)
		real = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
	if (real == NULL)
		return -1;
	int r = real(ifap);
	if (r == 0)
		for (struct ifaddrs *i = *ifap; i != NULL; i = i->ifa_next)
			i->ifa_flags &= ~IFF_LOOPBACK;
	return r;
}

typedef unsigned long GType;
typedef void *gpointer;

extern GType g_type_register_static_simple(GType parent, const char *name, unsigned class_size,
	void (*class_init)(gpointer, gpointer), unsigned instance_size,
	void (*instance_init)(gpointer, gpointer), int flags);
extern unsigned g_signal_new(const char *name, GType itype, int flags, unsigned class_offset,
	gpointer accumulator, gpointer accu_data, gpointer marshaller, GType return_type,
	unsigned n_params, ...);
extern gpointer g_object_new(GType type, const char *first_property_name, ...);

#define STUB_G_TYPE_OBJECT ((GType)(20 << 2)) /* G_TYPE_OBJECT */
#define STUB_G_TYPE_NONE ((GType)(1 << 2))    /* G_TYPE_NONE */
#define STUB_G_SIGNAL_RUN_LAST (1 << 1)

/* Sizes above GObjectClass (136 bytes) and GObject (24 bytes) on 64-bit targets. */
enum { class_size = 512, instance_size = 128 };

static GType igd_type;

static void igd_class_init(gpointer klass, gpointer data) {
	(void)klass;
	(void)data;
	/* libnice connects handlers to these; they are never emitted. */
	g_signal_new("mapped-external-port", igd_type, STUB_G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
		STUB_G_TYPE_NONE, 0);
	g_signal_new("error-mapping-port", igd_type, STUB_G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
		STUB_G_TYPE_NONE, 0);
}

GType gupnp_simple_igd_get_type(void) {
	if (igd_type == 0)
		igd_type = g_type_register_static_simple(STUB_G_TYPE_OBJECT, "GUPnPSimpleIgd",
			class_size, igd_class_init, instance_size, NULL, 0);
	return igd_type;
}

gpointer gupnp_simple_igd_thread_new(void) {
	return g_object_new(gupnp_simple_igd_get_type(), NULL);
}

void gupnp_simple_igd_add_port(gpointer self, const char *protocol, unsigned external_port,
	const char *local_ip, unsigned local_port, unsigned lease_duration, const char *description) {
	(void)self; (void)protocol; (void)external_port; (void)local_ip; (void)local_port;
	(void)lease_duration; (void)description;
}

void gupnp_simple_igd_remove_port_local(gpointer self, const char *protocol, const char *local_ip,
	unsigned local_port) {
	(void)self; (void)protocol; (void)local_ip; (void)local_port;
}
