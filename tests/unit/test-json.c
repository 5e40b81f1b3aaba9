/* SPDX-License-Identifier: MIT */
/*
 * json.h: the JSON form of a VM image.
 *
 * 1. Lossless: image -> JSON -> image gives an equal image, field by field,
 *    for images read from VMs driven by seeded random operations in all 8
 *    configurations (CLASSIC/NEWEST x GISA x AIS), and for a hand-built
 *    image with every field at an extreme value; the image read back also
 *    builds a VM whose image is the original again.
 * 2. Canonical: JSON -> image -> JSON gives the same text, compact and
 *    indented; a golden text pins the layout; any member order, whitespace
 *    and hex spelling read the same.
 * 3. Snapshot recode: snapshot file -> image -> JSON -> image -> snapshot
 *    file gives identical bytes (state bytes and digest included).
 * 4. Hostile input: every error class, with its path, value, place in the
 *    text and what was expected; nothing returned on error.
 * 5. Size: 266,250 I/O entries round-trip in seconds, and the largest image
 *    the limits allow writes within GISA_JSON_MAX_TEXT.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include <gisa/image.h>
#include <gisa/json.h>
#include <gisa/snapshot.h>

#include "randvm.h"
#include "support.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define BUILD_OPS 500
#define NR_SEEDS 4

/* Where a failure happened, printed with it. */
static char g_where[128];

/* ---- comparing images field by field ----------------------------------------------- */

static void differs(const char *what, uint64_t index, uint64_t a, uint64_t b)
{
	print_error("%s: %s[%llu] differs: 0x%llx vs 0x%llx\n", g_where, what,
		    (unsigned long long)index, (unsigned long long)a, (unsigned long long)b);
	fail();
}

#define EQ(what, idx, a, b) do {                                             \
	uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                      \
	if (a_ != b_)                                                         \
		differs(what, (uint64_t)(idx), a_, b_);                       \
} while (0)

static void image_equal(const struct gisa_image *a, const struct gisa_image *b)
{
	EQ("config.profile", 0, a->config.profile, b->config.profile);
	EQ("config.caps", 0, a->config.caps, b->config.caps);
	EQ("config.nr_vcpus", 0, a->config.nr_vcpus, b->config.nr_vcpus);
	EQ("config.mem_cap", 0, a->config.mem_cap, b->config.mem_cap);
	EQ("config.abi_order", 0, a->config.abi_order, b->config.abi_order);

	EQ("fl.flic_present", 0, a->fl.flic_present, b->fl.flic_present);
	EQ("fl.apf_enabled", 0, a->fl.apf_enabled, b->fl.apf_enabled);
	EQ("fl.service_pending", 0, a->fl.service_pending, b->fl.service_pending);
	EQ("fl.service_ev_pending", 0, a->fl.service_ev_pending, b->fl.service_ev_pending);
	EQ("fl.mchk_pending", 0, a->fl.mchk_pending, b->fl.mchk_pending);
	EQ("fl.srv_ext_params", 0, a->fl.srv_ext_params, b->fl.srv_ext_params);
	EQ("fl.mchk_cr14", 0, a->fl.mchk_cr14, b->fl.mchk_cr14);
	EQ("fl.mchk_mcic", 0, a->fl.mchk_mcic, b->fl.mchk_mcic);
	EQ("fl.simm", 0, a->fl.simm, b->fl.simm);
	EQ("fl.nimm", 0, a->fl.nimm, b->fl.nimm);
	EQ("fl.kick_cursor", 0, a->fl.kick_cursor, b->fl.kick_cursor);

	for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
		EQ("lists.n", l, a->lists[l].n, b->lists[l].n);
		for (uint32_t i = 0; i < a->lists[l].n; i++) {
			const struct gisa_list_entry *x = &a->lists[l].e[i], *y = &b->lists[l].e[i];
			uint64_t at = (uint64_t)l << 32 | i;

			EQ("lists.type", at, x->type, y->type);
			if (l <= GISA_MAX_ISC) {
				EQ("lists.io.id", at, x->u.io.subchannel_id, y->u.io.subchannel_id);
				EQ("lists.io.nr", at, x->u.io.subchannel_nr, y->u.io.subchannel_nr);
				EQ("lists.io.parm", at, x->u.io.io_int_parm, y->u.io.io_int_parm);
				EQ("lists.io.word", at, x->u.io.io_int_word, y->u.io.io_int_word);
			} else {
				EQ("lists.ext.params", at, x->u.ext.ext_params,
				   y->u.ext.ext_params);
				EQ("lists.ext.pad", at, x->u.ext.pad, y->u.ext.pad);
				EQ("lists.ext.params2", at, x->u.ext.ext_params2,
				   y->u.ext.ext_params2);
			}
		}
	}

	EQ("nr_adapters", 0, a->nr_adapters, b->nr_adapters);
	for (uint32_t i = 0; i < a->nr_adapters; i++) {
		const struct gisa_image_adapter *x = &a->adapters[i], *y = &b->adapters[i];

		EQ("adapters.id", i, x->a.id, y->a.id);
		EQ("adapters.isc", i, x->a.isc, y->a.isc);
		EQ("adapters.maskable", i, x->a.maskable, y->a.maskable);
		EQ("adapters.masked", i, x->a.masked, y->a.masked);
		EQ("adapters.swap", i, x->a.swap, y->a.swap);
		EQ("adapters.suppressible", i, x->a.suppressible, y->a.suppressible);
		EQ("adapters.nr_maps", i, x->a.nr_maps, y->a.nr_maps);
		for (uint32_t k = 0; k < x->a.nr_maps; k++)
			EQ("adapters.maps", (uint64_t)i << 32 | k, x->maps[k], y->maps[k]);
	}

	EQ("nr_routes", 0, a->nr_routes, b->nr_routes);
	for (uint32_t i = 0; i < a->nr_routes; i++) {
		const struct gisa_route_entry *x = &a->routes[i], *y = &b->routes[i];

		EQ("routes.gsi", i, x->gsi, y->gsi);
		EQ("routes.type", i, x->type, y->type);
		EQ("routes.flags", i, x->flags, y->flags);
		EQ("routes.ind_addr", i, x->adapter.ind_addr, y->adapter.ind_addr);
		EQ("routes.summary_addr", i, x->adapter.summary_addr, y->adapter.summary_addr);
		EQ("routes.ind_offset", i, x->adapter.ind_offset, y->adapter.ind_offset);
		EQ("routes.summary_offset", i, x->adapter.summary_offset,
		   y->adapter.summary_offset);
		EQ("routes.adapter_id", i, x->adapter.adapter_id, y->adapter.adapter_id);
	}

	EQ("nr_memslots", 0, a->nr_memslots, b->nr_memslots);
	for (uint32_t i = 0; i < a->nr_memslots; i++) {
		EQ("memslots.slot", i, a->memslots[i].slot, b->memslots[i].slot);
		EQ("memslots.gpa", i, a->memslots[i].gpa, b->memslots[i].gpa);
		EQ("memslots.size", i, a->memslots[i].size, b->memslots[i].size);
	}

	EQ("nr_pages", 0, a->nr_pages, b->nr_pages);
	for (uint32_t i = 0; i < a->nr_pages; i++) {
		EQ("pages.gpa", i, a->pages[i].gpa, b->pages[i].gpa);
		for (uint32_t k = 0; k < GISA_PAGE_SIZE; k++)
			if (a->pages[i].data[k] != b->pages[i].data[k])
				EQ("pages.data", (uint64_t)i << 32 | k, a->pages[i].data[k],
				   b->pages[i].data[k]);
	}

	EQ("nr_vcpus", 0, a->nr_vcpus, b->nr_vcpus);
	for (uint32_t i = 0; i < a->nr_vcpus; i++) {
		EQ("vcpus.psw_mask", i, a->vcpus[i].psw_mask, b->vcpus[i].psw_mask);
		EQ("vcpus.cr0", i, a->vcpus[i].cr0, b->vcpus[i].cr0);
		EQ("vcpus.cr6", i, a->vcpus[i].cr6, b->vcpus[i].cr6);
		EQ("vcpus.cr14", i, a->vcpus[i].cr14, b->vcpus[i].cr14);
		EQ("vcpus.run", i, a->vcpus[i].run, b->vcpus[i].run);
		EQ("vcpus.kicked", i, a->vcpus[i].kicked, b->vcpus[i].kicked);
	}

	EQ("gisa.present", 0, a->gisa.present, b->gisa.present);
	EQ("gisa.ipm", 0, a->gisa.ipm, b->gisa.ipm);
	EQ("gisa.iam", 0, a->gisa.iam, b->gisa.iam);
	EQ("gisa.alert_mask", 0, a->gisa.alert_mask, b->gisa.alert_mask);
	for (unsigned i = 0; i <= GISA_MAX_ISC; i++)
		EQ("gisa.refcount", i, a->gisa.refcount[i], b->gisa.refcount[i]);
	EQ("gisa.on_alert_list", 0, a->gisa.on_alert_list, b->gisa.on_alert_list);
	EQ("gisa.timer_armed", 0, a->gisa.timer_armed, b->gisa.timer_armed);
	EQ("gisa.timer_delay_ns", 0, a->gisa.timer_delay_ns, b->gisa.timer_delay_ns);
}

static void meta_equal(const struct gisa_json_meta *a, const struct gisa_json_meta *b)
{
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->has_uuid, b->has_uuid);
	if (a->has_uuid)
		assert_memory_equal(a->uuid, b->uuid, sizeof(a->uuid));
	assert_int_equal(a->created_unix_ns, b->created_unix_ns);
	assert_string_equal(a->producer, b->producer);
}

static struct gisa_image *new_image(void)
{
	struct gisa_image *img = NULL;

	assert_int_equal(gisa_image_new(&img), 0);
	return img;
}

static void json_ok(int r, const struct gisa_json_error *e)
{
	if (r) {
		print_error("%s: to_image failed %d: %s at %s (line %d col %d) value '%s': %s\n",
			    g_where, r, gisa_json_errkind_name(e->kind), e->path, e->line,
			    e->column, e->value, e->expected);
		fail();
	}
}

/*
 * Both layouts: image -> text -> image' equal, image' -> the same text
 * (the text is canonical), and the text has the layout's shape.
 */
static void roundtrip(const struct gisa_image *img, const struct gisa_json_meta *meta)
{
	static const unsigned flags[] = { GISA_JSON_COMPACT, GISA_JSON_PRETTY };

	for (unsigned k = 0; k < ARRAY_SIZE(flags); k++) {
		struct gisa_json_meta got, none;
		struct gisa_json_error e;
		struct gisa_image *back = NULL;
		char *text = NULL, *again = NULL;
		size_t len = 0, len2 = 0;

		assert_int_equal(gisa_json_from_image(img, meta, flags[k], &text, &len), 0);
		assert_int_equal(strlen(text), len);
		if (flags[k] == GISA_JSON_PRETTY) {
			assert_string_equal(text + len - 2, "}\n");
		} else {
			assert_int_equal(text[len - 1], '}');
			if (!meta)
				assert_null(memchr(text, ' ', len));
		}
		json_ok(gisa_json_to_image(text, len, &back, &got, &e), &e);
		assert_int_equal(e.kind, GISA_JSON_ERR_NONE);
		image_equal(img, back);
		memset(&none, 0, sizeof(none));
		meta_equal(meta ? meta : &none, &got);
		assert_int_equal(gisa_json_from_image(back, meta ? &got : NULL, flags[k], &again,
						      &len2), 0);
		assert_int_equal(len, len2);
		assert_string_equal(text, again);
		free(text);
		free(again);
		gisa_image_free(back);
	}
}

/* ---- VMs built by seeded random operations ----------------------------------------- */

static int set_attr(struct gisa_vm *vm, uint32_t group, uint64_t attr, void *buf, size_t len)
{
	struct gisa_attr a = { .group = group, .attr = attr, .addr = { .data = buf, .len = len } };

	return gisa_flic_set_attr(vm, &a);
}

/* Indicator areas: the first 64 KiB of memslot 0 and all of memslot 1. */
static uint64_t pick_area(struct rng *r)
{
	return rn(r, 3) ? 0x10000 + (uint64_t)rn(r, 16) * 0x1000 + rn(r, 64) :
			  0x200000 + (uint64_t)rn(r, 4) * 0x1000 + rn(r, 64);
}

static void random_routes(struct gisa_vm *vm, struct rng *r)
{
	struct gisa_route_entry e[12];
	uint32_t n = rn(r, ARRAY_SIZE(e) + 1), gsi = rn(r, 4);

	for (uint32_t i = 0; i < n; i++) {
		e[i] = t_route(gsi, pick_area(r), rn(r, 4) ? rn(r, 64) : rn(r, 512), pick_area(r),
			       rn(r, 8), rn(r, 8));
		gsi += 1 + rn(r, 300);
	}
	gisa_routes_set(vm, e, n, 0);
}

static void random_op(struct gisa_vm *vm, struct gisa_host *host, struct rng *r,
		      const struct gisa_vm_config *cfg)
{
	uint32_t nv = cfg->nr_vcpus, v = rn(r, nv);
	enum gisa_byteorder o = cfg->abi_order;
	struct gisa_irq irq;

	switch (rn(r, 30)) {
	case 0:
	case 1:
	case 2:
	case 3:
		irq = t_io((uint16_t)rn(r, 4), (uint16_t)rnd(r), rn(r, 3) ? (uint32_t)rnd(r) : 0,
			   rn(r, 8));
		if (rn(r, 6) == 0)
			irq.u.io.io_int_word |= (uint32_t)rnd(r) & 0x87ffffffu;
		gisa_vm_inject(vm, &irq);
		break;
	case 4:
		irq = t_ai(rn(r, 8));
		gisa_vm_inject(vm, &irq);
		break;
	case 5:
		irq = t_srv(rn(r, 2) ? (uint32_t)rnd(r) & ~4u : rn(r, 4));
		gisa_vm_inject(vm, &irq);
		break;
	case 6:
		irq = t_virt((uint32_t)rnd(r), rnd(r));
		if (rn(r, 4) == 0)
			irq.u.ext.pad = (uint32_t)rnd(r);
		gisa_vm_inject(vm, &irq);
		break;
	case 7:
		irq = t_pfd(rnd(r));
		gisa_vm_inject(vm, &irq);
		break;
	case 8:
		irq = t_mck(GISA_CR14_CHANNEL_REPORT, 1ull << rn(r, 64));
		gisa_vm_inject(vm, &irq);
		break;
	case 9: {
		struct gisa_io_adapter a = {
			.id = rn(r, 8), .isc = (uint8_t)(rn(r, 10) ? rn(r, 8) : rn(r, 256)),
			.maskable = (uint8_t)rn(r, 2), .swap = (uint8_t)rn(r, 2),
			.flags = rn(r, 2) ? GISA_ADAPTER_SUPPRESSIBLE : 0,
		};
		uint8_t b[GISA_IO_ADAPTER_SIZE];

		gisa_io_adapter_pack(&a, o, b);
		set_attr(vm, GISA_FLIC_ADAPTER_REGISTER, 0, b, sizeof(b));
		break;
	}
	case 10:
	case 11: {
		struct gisa_io_adapter_req q = {
			.id = rn(r, 8), .type = (uint8_t)(1 + rn(r, 3)), .mask = (uint8_t)rn(r, 2),
			.addr = 0x10000 + (uint64_t)rn(r, 16) * 0x1000,
		};
		uint8_t b[GISA_IO_ADAPTER_REQ_SIZE];

		gisa_io_adapter_req_pack(&q, o, b);
		set_attr(vm, GISA_FLIC_ADAPTER_MODIFY, 0, b, sizeof(b));
		break;
	}
	case 12: {
		struct gisa_ais_req q = { .isc = (uint8_t)rn(r, 8), .mode = (uint16_t)rn(r, 2) };
		uint8_t b[GISA_AIS_REQ_SIZE];

		gisa_ais_req_pack(&q, o, b);
		set_attr(vm, GISA_FLIC_AISM, 0, b, sizeof(b));
		break;
	}
	case 13: {
		uint8_t b[2] = { (uint8_t)rnd(r), (uint8_t)(rn(r, 2) ? 0 : rnd(r)) };

		set_attr(vm, GISA_FLIC_AISM_ALL, 2, b, sizeof(b));
		break;
	}
	case 14:
		set_attr(vm, GISA_FLIC_AIRQ_INJECT, rn(r, 8), NULL, 0);
		break;
	case 15:
		random_routes(vm, r);
		break;
	case 16:
	case 17:
	case 18:
		gisa_route_trigger(vm, rn(r, 4) ? rn(r, 4) + rn(r, 2) * 300 : rn(r, 4096), 1);
		break;
	case 19: {
		static const enum gisa_run_state run[] = {
			GISA_VCPU_RUNNING, GISA_VCPU_IDLE, GISA_VCPU_STOPPED,
		};

		if (nv)
			t_vcpu_set(vm, v, rn(r, 4) ? GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT : rnd(r),
				   rn(r, 2) ? 0x6e00 : rnd(r), (uint64_t)rn(r, 256) << 24,
				   rn(r, 2) ? GISA_CR14_CHANNEL_REPORT : rnd(r), run[rn(r, 3)]);
		break;
	}
	case 20:
		if (nv)
			gisa_vcpu_wait(vm, v);
		break;
	case 21: {
		struct gisa_delivery d;

		if (nv)
			gisa_vcpu_deliver(vm, v, &d);
		break;
	}
	case 22:
		gisa_gisc_register(vm, rn(r, 8));
		break;
	case 23:
		gisa_gisc_unregister(vm, rn(r, 8));
		break;
	case 24:
		gisa_gisa_hw_airq(vm, rn(r, 8), rn(r, 3) == 0);
		break;
	case 25:
		if (rn(r, 2))
			gisa_host_process_alerts(host);
		else
			gisa_gisa_timer_fire(vm);
		break;
	case 26:
		gisa_mem_write(vm, pick_area(r), &(uint8_t){ (uint8_t)rnd(r) }, 1);
		break;
	case 27:
		set_attr(vm, rn(r, 2) ? GISA_FLIC_APF_ENABLE : GISA_FLIC_APF_DISABLE_WAIT, 0,
			 NULL, 0);
		break;
	case 28: {
		struct gisa_irq out;

		if (nv)
			gisa_vcpu_tpi(vm, v, &out);
		break;
	}
	default:
		if (rn(r, 8) == 0) {
			if (gisa_flic_destroy(vm))
				gisa_flic_create(vm);
		}
		break;
	}
}

/*
 * The path to a kicked vcpu, which random operations rarely walk whole:
 * an alert-enabled ISC, an idle vcpu enabled for it, an adapter
 * interruption while out of SIE, the GAL handler, then the kicker timer.
 */
static void kick_sequence(struct gisa_vm *vm, struct gisa_host *host, struct rng *r,
			  const struct gisa_vm_config *cfg)
{
	uint32_t isc = rn(r, 8), v = rn(r, cfg->nr_vcpus);

	gisa_gisc_register(vm, isc);
	t_vcpu_set(vm, v, GISA_PSW_MASK_IO, 0, 0xff000000, 0, GISA_VCPU_IDLE);
	gisa_gisa_hw_airq(vm, isc, false);
	if (rn(r, 3) == 0)
		return;        /* left on the alert list */
	gisa_host_process_alerts(host);
	gisa_gisa_timer_fire(vm);
}

/* What the random images held, over all configurations (checked at the end). */
static struct {
	unsigned io, ai, virtio, pfault, service, mchk, adapters, maps, masked, routes, pages;
	unsigned idle, kicked, ipm, alert_list, timer, ais, le, no_flic, refcount;
} g_cov;

static void cover(const struct gisa_image *img)
{
	for (unsigned l = 0; l <= GISA_MAX_ISC; l++)
		for (uint32_t i = 0; i < img->lists[l].n; i++) {
			if (img->lists[l].e[i].u.io.io_int_word & GISA_IO_WORD_AI)
				g_cov.ai++;
			else
				g_cov.io++;
		}
	g_cov.pfault += img->lists[GISA_LIST_PFAULT].n;
	g_cov.virtio += img->lists[GISA_LIST_VIRTIO].n;
	g_cov.service += img->fl.service_pending;
	g_cov.mchk += img->fl.mchk_pending;
	g_cov.adapters += img->nr_adapters;
	for (uint32_t i = 0; i < img->nr_adapters; i++) {
		g_cov.maps += img->adapters[i].a.nr_maps;
		g_cov.masked += img->adapters[i].a.masked;
	}
	g_cov.routes += img->nr_routes;
	g_cov.pages += img->nr_pages;
	for (uint32_t i = 0; i < img->nr_vcpus; i++) {
		g_cov.idle += img->vcpus[i].run == GISA_VCPU_IDLE;
		g_cov.kicked += img->vcpus[i].kicked;
	}
	g_cov.ipm += img->gisa.ipm != 0;
	g_cov.alert_list += img->gisa.on_alert_list;
	g_cov.timer += img->gisa.timer_armed;
	g_cov.refcount += img->gisa.alert_mask != 0;
	g_cov.ais += img->fl.simm != 0 || img->fl.nimm != 0;
	g_cov.le += img->config.abi_order == GISA_LE;
	g_cov.no_flic += !img->fl.flic_present;
}

static struct gisa_image *random_image(enum gisa_profile profile, uint32_t caps, uint64_t seed)
{
	struct rng r = { seed * 0x1000193 + profile * 7 + caps };
	struct gisa_vm_config cfg = {
		.profile = profile, .caps = caps, .nr_vcpus = 1 + rn(&r, 5),
		.mem_cap = rn(&r, 2) ? 0 : 16u << 20, .abi_order = rn(&r, 3) ? GISA_BE : GISA_LE,
	};
	struct gisa_host *host = NULL;
	struct gisa_vm *vm = NULL;
	struct gisa_image *img = NULL;

	assert_int_equal(gisa_host_new(NULL, &host), 0);
	assert_int_equal(gisa_vm_new(host, &cfg, &vm), 0);
	assert_int_equal(gisa_flic_create(vm), 0);
	assert_int_equal(gisa_mem_set_slot(vm, 0, 0, 1u << 20), 0);
	assert_int_equal(gisa_mem_set_slot(vm, 7, 0x200000, 0x4000), 0);
	for (unsigned i = 0; i < BUILD_OPS; i++)
		random_op(vm, host, &r, &cfg);
	if (rn(&r, 2))
		kick_sequence(vm, host, &r, &cfg);
	assert_int_equal(gisa_image_from_vm(vm, &img), 0);
	gisa_vm_free(vm);
	gisa_host_free(host);
	assert_int_equal(gisa_image_check(img, NULL), 0);
	return img;
}

/* The image read back builds a VM, and that VM's image is the original's. */
static void builds_back(const struct gisa_image *img)
{
	struct gisa_restore_error re;
	struct gisa_image *back = NULL, *rebuilt = NULL;
	struct gisa_json_error e;
	struct gisa_host *host = NULL;
	struct gisa_vm *vm = NULL;
	char *text = NULL;
	size_t len;
	int r;

	assert_int_equal(gisa_json_from_image(img, NULL, GISA_JSON_COMPACT, &text, &len), 0);
	json_ok(gisa_json_to_image(text, len, &back, NULL, &e), &e);
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	r = gisa_image_build_vm(back, host, &vm, &re);
	if (r) {
		print_error("%s: build failed %d: %s[%llu] = 0x%llx: %s\n", g_where, r,
			    re.field ? re.field : "-", (unsigned long long)re.index,
			    (unsigned long long)re.value, re.reason ? re.reason : "-");
		fail();
	}
	assert_int_equal(gisa_image_from_vm(vm, &rebuilt), 0);
	image_equal(img, rebuilt);
	gisa_image_free(rebuilt);
	gisa_vm_free(vm);
	gisa_host_free(host);
	gisa_image_free(back);
	free(text);
}

static void random_roundtrips(enum gisa_profile profile, uint32_t caps)
{
	for (uint64_t seed = 1; seed <= NR_SEEDS; seed++) {
		struct gisa_image *img;

		snprintf(g_where, sizeof(g_where), "%s caps %u seed %llu",
			 profile == GISA_PROFILE_NEWEST ? "newest" : "classic", caps,
			 (unsigned long long)seed);
		img = random_image(profile, caps, seed);
		cover(img);
		roundtrip(img, NULL);
		builds_back(img);
		gisa_image_free(img);
	}
}

static void roundtrip_classic(void **state)
{
	(void)state;
	random_roundtrips(GISA_PROFILE_CLASSIC, 0);
}

static void roundtrip_classic_ais(void **state)
{
	(void)state;
	random_roundtrips(GISA_PROFILE_CLASSIC, GISA_CAP_AIS);
}

static void roundtrip_classic_gisa(void **state)
{
	(void)state;
	random_roundtrips(GISA_PROFILE_CLASSIC, GISA_CAP_GISA);
}

static void roundtrip_classic_gisa_ais(void **state)
{
	(void)state;
	random_roundtrips(GISA_PROFILE_CLASSIC, GISA_CAP_ALL);
}

static void roundtrip_newest(void **state)
{
	(void)state;
	random_roundtrips(GISA_PROFILE_NEWEST, 0);
}

static void roundtrip_newest_ais(void **state)
{
	(void)state;
	random_roundtrips(GISA_PROFILE_NEWEST, GISA_CAP_AIS);
}

static void roundtrip_newest_gisa(void **state)
{
	(void)state;
	random_roundtrips(GISA_PROFILE_NEWEST, GISA_CAP_GISA);
}

static void roundtrip_newest_gisa_ais(void **state)
{
	(void)state;
	random_roundtrips(GISA_PROFILE_NEWEST, GISA_CAP_ALL);
}

/* The random builds reached every kind of state (runs after the 8 above). */
static void roundtrip_coverage(void **state)
{
	const struct {
		const char *what;
		unsigned n;
	} c[] = {
		{ "I/O entries", g_cov.io }, { "AI list entries", g_cov.ai },
		{ "VIRTIO entries", g_cov.virtio }, { "PFAULT_DONE entries", g_cov.pfault },
		{ "service pending", g_cov.service }, { "machine check pending", g_cov.mchk },
		{ "adapters", g_cov.adapters }, { "adapter maps", g_cov.maps },
		{ "masked adapters", g_cov.masked }, { "routes", g_cov.routes },
		{ "route pages", g_cov.pages }, { "idle vcpus", g_cov.idle },
		{ "kicked vcpus", g_cov.kicked }, { "GISA IPM bits", g_cov.ipm },
		{ "GISA on the alert list", g_cov.alert_list }, { "armed timers", g_cov.timer },
		{ "GISA refcounts", g_cov.refcount }, { "AIS masks", g_cov.ais },
		{ "little-endian VMs", g_cov.le }, { "VMs without FLIC", g_cov.no_flic },
	};

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(c); i++) {
		print_message("%s: %u\n", c[i].what, c[i].n);
		if (!c[i].n)
			print_error("no random image had %s\n", c[i].what);
		assert_int_not_equal(c[i].n, 0);
	}
}

/* ---- a hand-built image: every field, extreme values ------------------------------ */

static struct gisa_image *extreme_image(void)
{
	struct gisa_image *img = new_image();
	const uint64_t ones = UINT64_MAX;

	img->config = (struct gisa_vm_config){
		.profile = GISA_PROFILE_NEWEST, .caps = UINT32_MAX, .nr_vcpus = 3,
		.mem_cap = ones, .abi_order = GISA_LE,
	};
	img->fl = (struct gisa_float_image){
		.flic_present = true, .apf_enabled = true, .service_pending = true,
		.service_ev_pending = true, .mchk_pending = true, .srv_ext_params = UINT32_MAX,
		.mchk_cr14 = ones, .mchk_mcic = ones, .simm = 0xff, .nimm = 0xff,
		.kick_cursor = UINT32_MAX,
	};
	for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
		assert_int_equal(gisa_image_set_list(img, l, 3), 0);
		for (unsigned i = 0; i < 3; i++) {
			struct gisa_list_entry *e = &img->lists[l].e[i];

			if (l <= GISA_MAX_ISC) {
				e->type = i == 0 ? GISA_INT_IO_MAX :
					  i == 1 ? 0 : GISA_INT_IO_AI_MASK;
				e->u.io = (struct gisa_io_info){
					.subchannel_id = i == 1 ? 0 : UINT16_MAX,
					.subchannel_nr = i == 1 ? 0 : UINT16_MAX,
					.io_int_parm = i == 1 ? 0 : UINT32_MAX,
					/* Every bit but the ISC's, which must be the list's. */
					.io_int_word = (i == 1 ? 0 : 0xc7ffffffu) | l << 27,
				};
			} else {
				e->type = i == 1 ? 0 : UINT32_MAX;
				e->u.ext = (struct gisa_ext_info){
					.ext_params = i == 1 ? 0 : UINT32_MAX,
					.pad = i == 1 ? 0 : UINT32_MAX,
					.ext_params2 = i == 1 ? 0 : ones,
				};
			}
		}
	}
	assert_int_equal(gisa_image_set_counts(img, 2, 2, 2, 2, 3), 0);
	img->adapters[0].a = (struct gisa_state_adapter){ .id = 0, .isc = 0 };
	img->adapters[1].a = (struct gisa_state_adapter){
		.id = GISA_MAX_ADAPTERS - 1, .isc = UINT8_MAX, .maskable = true, .masked = true,
		.swap = true, .suppressible = true,
	};
	assert_int_equal(gisa_image_set_maps(img, 1, GISA_MAX_ADAPTER_MAPS), 0);
	for (unsigned k = 0; k < GISA_MAX_ADAPTER_MAPS; k++)
		img->adapters[1].maps[k] = k % 2 ? ones : 1;
	img->routes[0] = (struct gisa_route_entry){ .gsi = 0 };
	img->routes[1] = (struct gisa_route_entry){
		.gsi = GISA_MAX_IRQ_ROUTES - 1, .type = UINT32_MAX, .flags = UINT32_MAX,
		.adapter = { ones, ones, ones, UINT32_MAX, UINT32_MAX },
	};
	img->memslots[0] = (struct gisa_image_memslot){ .slot = 0, .gpa = 0, .size = 0x1000 };
	img->memslots[1] = (struct gisa_image_memslot){
		.slot = UINT32_MAX, .gpa = 0xffffffffffffe000ull, .size = 0x1000,
	};
	img->pages[0].gpa = 0;
	img->pages[1].gpa = 0xfffffffffffff000ull;
	memset(img->pages[1].data, 0xff, GISA_PAGE_SIZE);
	for (unsigned k = 0; k < GISA_PAGE_SIZE; k += 17)
		img->pages[0].data[k] = (uint8_t)(k | 1);
	img->vcpus[0] = (struct gisa_vcpu_state){ ones, ones, ones, ones, GISA_VCPU_STOPPED, true };
	img->vcpus[1] = (struct gisa_vcpu_state){ 0, 0, 0, 0, GISA_VCPU_RUNNING, false };
	img->vcpus[2] = (struct gisa_vcpu_state){ 1, 2, 3, 4, GISA_VCPU_IDLE, true };
	img->gisa = (struct gisa_state_gisa){
		.present = true, .ipm = 0xff, .iam = 0xff, .alert_mask = 0xff,
		.on_alert_list = true, .timer_armed = true, .timer_delay_ns = UINT32_MAX,
	};
	for (unsigned i = 0; i <= GISA_MAX_ISC; i++)
		img->gisa.refcount[i] = i % 2 ? UINT32_MAX : 0;
	assert_int_equal(gisa_image_check(img, NULL), 0);
	return img;
}

static void extreme_values(void **state)
{
	struct gisa_json_meta meta = {
		.name = "vm \"quoted\" \\ / \t\x01 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
		.has_uuid = true,
		.uuid = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		.created_unix_ns = UINT64_MAX,
	};
	struct gisa_image *img = extreme_image();
	char *text = NULL;
	size_t len;

	(void)state;
	snprintf(g_where, sizeof(g_where), "extreme image");
	memset(meta.producer, 'p', GISA_JSON_PRODUCER_MAX);
	roundtrip(img, &meta);
	roundtrip(img, NULL);

	/* 64-bit values are hex strings, narrower ones plain integers. */
	assert_int_equal(gisa_json_from_image(img, &meta, GISA_JSON_COMPACT, &text, &len), 0);
	assert_non_null(strstr(text, "\"mem_cap\":\"0xffffffffffffffff\""));
	assert_non_null(strstr(text, "\"caps\":4294967295"));
	assert_non_null(strstr(text, "\"simm\":255"));
	assert_non_null(strstr(text, "\"type\":4294836223,\"io\":{\"id\":65535,\"nr\":65535,"
				     "\"parm\":4294967295,\"word\":4294967295}"));
	assert_non_null(strstr(text, "\"params2\":\"0x0\""));
	assert_non_null(strstr(text, "\"created\":\"2554-07-21T23:34:33.709551615Z\""));
	assert_non_null(strstr(text, "\"uuid\":\"ffffffff-ffff-ffff-ffff-ffffffffffff\""));
	assert_non_null(strstr(text, "\"name\":\"vm \\\"quoted\\\" \\\\ / \\t\\u0001 "));
	/* The all-ones page is one run; the sparse page one run per byte. */
	assert_non_null(strstr(text, "{\"gpa\":\"0xfffffffffffff000\",\"data\":{\"0\":\"ffffffff"));
	assert_non_null(strstr(text, "{\"gpa\":\"0x0\",\"data\":{\"0\":\"01\",\"17\":\"11\","
				     "\"34\":\"23\","));
	free(text);
	gisa_image_free(img);
}

/* ---- the layout, pinned ------------------------------------------------------------- */

static struct gisa_image *small_image(void)
{
	struct gisa_image *img = new_image();

	img->config = (struct gisa_vm_config){ GISA_PROFILE_NEWEST, GISA_CAP_ALL, 2, 0, GISA_BE };
	assert_int_equal(gisa_image_set_list(img, 3, 2), 0);
	img->lists[3].e[0].type = GISA_INT_IO(0, 0, 0, 0x10);
	img->lists[3].e[0].u.io = (struct gisa_io_info){ 0x1, 0x10, 0x12345678, 3u << 27 };
	img->lists[3].e[1].type = GISA_INT_IO(0, 0, 0, 0x11);
	img->lists[3].e[1].u.io = (struct gisa_io_info){ 0x1, 0x11, 0, 3u << 27 };
	assert_int_equal(gisa_image_set_list(img, GISA_LIST_VIRTIO, 1), 0);
	img->lists[9].e[0].type = GISA_INT_VIRTIO;
	img->lists[9].e[0].u.ext = (struct gisa_ext_info){ 0x1234, 0, 0xdeadbeefcafeull };
	assert_int_equal(gisa_image_set_counts(img, 1, 1, 1, 1, 2), 0);
	img->adapters[0].a = (struct gisa_state_adapter){ .id = 2, .isc = 3, .maskable = true };
	assert_int_equal(gisa_image_set_maps(img, 0, 2), 0);
	img->adapters[0].maps[0] = 0x10000;
	img->adapters[0].maps[1] = 0x20000;
	img->routes[0] = (struct gisa_route_entry){ 5, 3, 0, { 0x10000, 0x10100, 9, 2, 2 } };
	img->memslots[0] = (struct gisa_image_memslot){ 0, 0, 0x100000 };
	img->pages[0].gpa = 0x10000;
	img->pages[0].data[1] = 0x40;
	img->pages[0].data[0x100] = 0x20;
	img->pages[0].data[0x105] = 0x1;
	img->vcpus[1].run = GISA_VCPU_IDLE;
	img->vcpus[1].psw_mask = GISA_PSW_MASK_IO;
	img->gisa.present = true;
	img->gisa.refcount[3] = 1;
	img->gisa.alert_mask = 0x10;
	return img;
}

static const struct gisa_json_meta small_meta = {
	.name = "vm-\"1\"",
	.has_uuid = true,
	.uuid = { 0x6f, 0x1c, 0x2a, 0x3b, 0x4c, 0x5d, 0x4e, 0x6f,
		  0x80, 0x91, 0xa2, 0xb3, 0xc4, 0xd5, 0xe6, 0xf7 },
	.created_unix_ns = 1700000000123456789ull,
	.producer = "gisad 0.1.0",
};

static const char small_text[] =
	"{\n"
	"  \"schema\": \"gisa.v1\",\n"
	"  \"meta\": {\n"
	"    \"name\": \"vm-\\\"1\\\"\",\n"
	"    \"uuid\": \"6f1c2a3b-4c5d-4e6f-8091-a2b3c4d5e6f7\",\n"
	"    \"created\": \"2023-11-14T22:13:20.123456789Z\",\n"
	"    \"producer\": \"gisad 0.1.0\"\n"
	"  },\n"
	"  \"config\": {\n"
	"    \"profile\": \"newest\",\n"
	"    \"caps\": 3,\n"
	"    \"nr_vcpus\": 2,\n"
	"    \"mem_cap\": \"0x0\",\n"
	"    \"abi_order\": \"be\"\n"
	"  },\n"
	"  \"float\": {\n"
	"    \"flic_present\": false,\n"
	"    \"apf_enabled\": false,\n"
	"    \"service_pending\": false,\n"
	"    \"service_ev_pending\": false,\n"
	"    \"mchk_pending\": false,\n"
	"    \"srv_ext_params\": 0,\n"
	"    \"mchk_cr14\": \"0x0\",\n"
	"    \"mchk_mcic\": \"0x0\",\n"
	"    \"simm\": 0,\n"
	"    \"nimm\": 0,\n"
	"    \"kick_cursor\": 0\n"
	"  },\n"
	"  \"lists\": [\n"
	"    [],\n"
	"    [],\n"
	"    [],\n"
	"    [\n"
	"      {\"type\": 16, \"io\": {\"id\": 1, \"nr\": 16, \"parm\": 305419896, "
	"\"word\": 402653184}},\n"
	"      {\"type\": 17, \"io\": {\"id\": 1, \"nr\": 17, \"parm\": 0, "
	"\"word\": 402653184}}\n"
	"    ],\n"
	"    [],\n"
	"    [],\n"
	"    [],\n"
	"    [],\n"
	"    [],\n"
	"    [\n"
	"      {\"type\": 4294911491, \"ext\": {\"params\": 4660, \"pad\": 0, "
	"\"params2\": \"0xdeadbeefcafe\"}}\n"
	"    ]\n"
	"  ],\n"
	"  \"adapters\": [\n"
	"    {\"id\": 2, \"isc\": 3, \"maskable\": true, \"masked\": false, \"swap\": false, "
	"\"suppressible\": false, \"maps\": [\"0x10000\", \"0x20000\"]}\n"
	"  ],\n"
	"  \"routes\": [\n"
	"    {\"gsi\": 5, \"type\": 3, \"flags\": 0, \"adapter\": {\"ind_addr\": \"0x10000\", "
	"\"summary_addr\": \"0x10100\", \"ind_offset\": \"0x9\", \"summary_offset\": 2, "
	"\"adapter_id\": 2}}\n"
	"  ],\n"
	"  \"memslots\": [\n"
	"    {\"slot\": 0, \"gpa\": \"0x0\", \"size\": \"0x100000\"}\n"
	"  ],\n"
	"  \"pages\": [\n"
	"    {\"gpa\": \"0x10000\", \"data\": {\"1\": \"40\", \"256\": \"200000000001\"}}\n"
	"  ],\n"
	"  \"vcpus\": [\n"
	"    {\"psw_mask\": \"0x0\", \"cr0\": \"0x0\", \"cr6\": \"0x0\", \"cr14\": \"0x0\", "
	"\"run\": \"running\", \"kicked\": false},\n"
	"    {\"psw_mask\": \"0x200000000000000\", \"cr0\": \"0x0\", \"cr6\": \"0x0\", "
	"\"cr14\": \"0x0\", \"run\": \"idle\", \"kicked\": false}\n"
	"  ],\n"
	"  \"gisa\": {\n"
	"    \"present\": true,\n"
	"    \"ipm\": 0,\n"
	"    \"iam\": 0,\n"
	"    \"alert_mask\": 16,\n"
	"    \"refcount\": [0, 0, 0, 1, 0, 0, 0, 0],\n"
	"    \"on_alert_list\": false,\n"
	"    \"timer_armed\": false,\n"
	"    \"timer_delay_ns\": 0\n"
	"  }\n"
	"}\n";

static void golden_layout(void **state)
{
	struct gisa_image *img = small_image(), *back = NULL;
	struct gisa_json_meta meta;
	struct gisa_json_error e;
	char *text = NULL, *compact = NULL;
	size_t len, clen, k = 0;
	bool in_string = false;

	(void)state;
	snprintf(g_where, sizeof(g_where), "golden");
	assert_int_equal(gisa_json_from_image(img, &small_meta, GISA_JSON_PRETTY, &text, &len), 0);
	assert_string_equal(text, small_text);
	json_ok(gisa_json_to_image(small_text, strlen(small_text), &back, &meta, &e), &e);
	image_equal(img, back);
	meta_equal(&small_meta, &meta);

	/* Compact is the same text without the whitespace outside strings. */
	assert_int_equal(gisa_json_from_image(img, &small_meta, GISA_JSON_COMPACT, &compact,
					      &clen), 0);
	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (!in_string && (c == ' ' || c == '\n'))
			continue;
		assert_true(k < clen);
		assert_int_equal(compact[k], c);
		k++;
		if (c == '\\')
			assert_int_equal(compact[k++], text[++i]);
		else if (c == '"')
			in_string = !in_string;
	}
	assert_int_equal(k, clen);
	free(text);
	free(compact);
	gisa_image_free(back);
	gisa_image_free(img);
}

/* Member order, whitespace, hex spelling and run splits are free on input. */
static void reader_accepts_any_spelling(void **state)
{
	static const char text[] =
		"  {\"gisa\":{\"timer_delay_ns\":0,\"timer_armed\":false,\"on_alert_list\":false,"
		"\"refcount\":[0,0,0,1,0,0,0,0],\"alert_mask\":16,\"iam\":0,\"ipm\":0,"
		"\"present\":true},\n\t\"vcpus\":[{\"kicked\":false,\"run\":\"running\","
		"\"cr14\":\"0x0000000000000000\",\"cr6\":\"0x0\",\"cr0\":\"0x00\","
		"\"psw_mask\":\"0x0\"},{\"psw_mask\":\"0x0200000000000000\",\"cr0\":\"0x0\","
		"\"cr6\":\"0x0\",\"cr14\":\"0x0\","
		"\"run\":\"idle\",\"kicked\":false}],\r\n"
		"\"pages\":[{\"data\":{\"261\":\"01\",\"1\":\"40\",\"257\":\"00000000\","
		"\"256\":\"20\"},"
		"\"gpa\":\"0x10000\"}],\"memslots\":[{\"size\":\"0x100000\",\"gpa\":\"0x0\","
		"\"slot\":0}],\"routes\":[{\"adapter\":{\"adapter_id\":2,\"summary_offset\":2,"
		"\"ind_offset\":\"0x09\",\"summary_addr\":\"0x10100\",\"ind_addr\":\"0x10000\"},"
		"\"flags\":0,\"type\":3,\"gsi\":5}],"
		"\"adapters\":[{\"maps\":[\"0x10000\",\"0x20000\"],\"suppressible\":false,"
		"\"swap\":false,\"masked\":false,\"maskable\":true,\"isc\":3,\"id\":2}],"
		"\"lists\":[[],[],[],[{\"io\":{\"word\":402653184,\"parm\":305419896,\"nr\":16,"
		"\"id\":1},\"type\":16},{\"type\":17,\"io\":{\"id\":1,\"nr\":17,\"parm\":0,"
		"\"word\":402653184}}],[],[],[],[],[],[{\"ext\":{\"params2\":\"0xDEADBEEFCAFE\","
		"\"pad\":0,\"params\":4660},\"type\":4294911491}]],"
		"\"float\":{\"kick_cursor\":0,\"nimm\":0,\"simm\":0,\"mchk_mcic\":\"0x0\","
		"\"mchk_cr14\":\"0x0\",\"srv_ext_params\":0,\"mchk_pending\":false,"
		"\"service_ev_pending\":false,\"service_pending\":false,\"apf_enabled\":false,"
		"\"flic_present\":false},\"config\":{\"abi_order\":\"be\",\"mem_cap\":\"0x0\","
		"\"nr_vcpus\":2,\"caps\":3,\"profile\":\"newest\"},\"meta\":{\"producer\":"
		"\"gisad 0.1.0\",\"created\":\"2023-11-14T22:13:20.123456789Z\",\"uuid\":"
		"\"6F1C2A3B-4C5D-4E6F-8091-A2B3C4D5E6F7\",\"name\":\"vm-\\u0022\\u0031\\\"\"},"
		"\"schema\":\"gisa.v1\"}\n";
	struct gisa_image *img = small_image(), *back = NULL;
	struct gisa_json_meta meta;
	struct gisa_json_error e;
	char *canon = NULL;
	size_t len;

	(void)state;
	snprintf(g_where, sizeof(g_where), "any spelling");
	json_ok(gisa_json_to_image(text, strlen(text), &back, &meta, &e), &e);
	image_equal(img, back);
	meta_equal(&small_meta, &meta);
	assert_int_equal(gisa_json_from_image(back, &meta, GISA_JSON_PRETTY, &canon, &len), 0);
	assert_string_equal(canon, small_text);
	free(canon);
	gisa_image_free(back);
	gisa_image_free(img);
}

/*
 * Members of one type are told apart only by their values: in the small
 * image most numbers are 0, so a table that swapped two names (simm and
 * nimm, ipm and iam) would still round-trip and match the layout.  Here
 * each is distinct, on output and on input.
 */
static void member_names_by_value(void **state)
{
	static const char *const want[] = {
		"\"srv_ext_params\":17", "\"mchk_cr14\":\"0x22\"", "\"mchk_mcic\":\"0x33\"",
		"\"simm\":68", "\"nimm\":85", "\"kick_cursor\":1", "\"ipm\":102", "\"iam\":119",
		"\"alert_mask\":16", "\"flic_present\":true", "\"apf_enabled\":false",
		"\"service_pending\":true", "\"service_ev_pending\":false",
		"\"mchk_pending\":true",
	};
	struct gisa_image *img = small_image(), *back = NULL;
	struct gisa_json_error e;
	char *text = NULL;
	size_t len;

	(void)state;
	snprintf(g_where, sizeof(g_where), "member names");
	img->fl = (struct gisa_float_image){
		.flic_present = true, .service_pending = true, .mchk_pending = true,
		.srv_ext_params = 0x11, .mchk_cr14 = 0x22, .mchk_mcic = 0x33,
		.simm = 0x44, .nimm = 0x55, .kick_cursor = 1,
	};
	img->gisa.ipm = 0x66;
	img->gisa.iam = 0x77;
	assert_int_equal(gisa_json_from_image(img, NULL, GISA_JSON_COMPACT, &text, &len), 0);
	for (unsigned i = 0; i < ARRAY_SIZE(want); i++) {
		if (!strstr(text, want[i]))
			print_error("no %s in %s\n", want[i], text);
		assert_non_null(strstr(text, want[i]));
	}
	free(text);

	/* Input: the golden text with two same-typed members given values. */
	text = strdup(small_text);
	assert_non_null(text);
	memcpy(strstr(text, "\"simm\": 0"), "\"simm\": 3", 9);
	memcpy(strstr(text, "\"ipm\": 0"), "\"ipm\": 5", 8);
	json_ok(gisa_json_to_image(text, strlen(text), &back, NULL, &e), &e);
	assert_int_equal(back->fl.simm, 3);
	assert_int_equal(back->fl.nimm, 0);
	assert_int_equal(back->gisa.ipm, 5);
	assert_int_equal(back->gisa.iam, 0);
	free(text);
	gisa_image_free(back);
	gisa_image_free(img);
}

/* ---- meta ---------------------------------------------------------------------- */

static const char *created_text(uint64_t ns, char *buf, size_t size)
{
	struct gisa_json_meta m = { .created_unix_ns = ns };
	struct gisa_image *img = new_image();
	char *text = NULL, *p;
	size_t len;

	assert_int_equal(gisa_json_from_image(img, &m, GISA_JSON_COMPACT, &text, &len), 0);
	p = strstr(text, "\"created\":\"");
	assert_non_null(p);
	p += strlen("\"created\":\"");
	snprintf(buf, size, "%.*s", (int)(strchr(p, '"') - p), p);
	free(text);
	gisa_image_free(img);
	return buf;
}

static void meta_created_times(void **state)
{
	static const struct {
		uint64_t ns;
		const char *text;
	} t[] = {
		{ 1, "1970-01-01T00:00:00.000000001Z" },
		{ 86400ull * 1000000000ull, "1970-01-02T00:00:00.000000000Z" },
		{ 951782400ull * 1000000000ull, "2000-02-29T00:00:00.000000000Z" },
		{ 4107542399ull * 1000000000ull + 999999999, "2100-02-28T23:59:59.999999999Z" },
		{ 4107542400ull * 1000000000ull, "2100-03-01T00:00:00.000000000Z" },
		{ 1700000000123456789ull, "2023-11-14T22:13:20.123456789Z" },
		{ UINT64_MAX, "2554-07-21T23:34:33.709551615Z" },
	};
	char buf[64];

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(t); i++)
		assert_string_equal(created_text(t[i].ns, buf, sizeof(buf)), t[i].text);
}

static void meta_absent_and_partial(void **state)
{
	struct gisa_json_meta in = { .producer = "p" }, out, none;
	struct gisa_image *img = new_image(), *back = NULL;
	char *text = NULL;
	size_t len;

	(void)state;
	snprintf(g_where, sizeof(g_where), "meta");
	roundtrip(img, NULL);
	roundtrip(img, &in);
	/* A nil UUID is a UUID. */
	in.has_uuid = true;
	roundtrip(img, &in);
	/* No member set: no "meta" at all. */
	memset(&none, 0, sizeof(none));
	assert_int_equal(gisa_json_from_image(img, &none, GISA_JSON_COMPACT, &text, &len), 0);
	assert_null(strstr(text, "meta"));
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(gisa_json_to_image(text, len, &back, &out, NULL), 0);
	meta_equal(&none, &out);
	free(text);
	gisa_image_free(back);
	gisa_image_free(img);
}

static void writer_refusals(void **state)
{
	struct gisa_json_meta meta;
	struct gisa_image *img = small_image();
	char *text = (char *)"untouched";
	size_t len = 7;

	(void)state;
	assert_int_equal(gisa_json_from_image(img, NULL, 2, &text, &len), -EINVAL);
	/* An image gisa_image_check refuses. */
	img->config.nr_vcpus = 3;
	assert_int_equal(gisa_json_from_image(img, NULL, 0, &text, &len), -EINVAL);
	img->config.nr_vcpus = 2;
	/* Values the reader would refuse. */
	img->config.profile = (enum gisa_profile)2;
	assert_int_equal(gisa_json_from_image(img, NULL, 0, &text, &len), -EINVAL);
	img->config.profile = GISA_PROFILE_CLASSIC;
	img->config.abi_order = (enum gisa_byteorder)2;
	assert_int_equal(gisa_json_from_image(img, NULL, 0, &text, &len), -EINVAL);
	img->config.abi_order = GISA_LE;
	img->vcpus[0].run = (enum gisa_run_state)3;
	assert_int_equal(gisa_json_from_image(img, NULL, GISA_JSON_PRETTY, &text, &len), -EINVAL);
	img->vcpus[0].run = GISA_VCPU_STOPPED;
	img->adapters[0].a.isc = 256;
	assert_int_equal(gisa_json_from_image(img, NULL, 0, &text, &len), -EINVAL);
	img->adapters[0].a.isc = 255;
	/* Meta strings: UTF-8, NUL-terminated inside their arrays. */
	memset(&meta, 0, sizeof(meta));
	strcpy(meta.name, "bad \xff utf-8");
	assert_int_equal(gisa_json_from_image(img, &meta, 0, &text, &len), -EINVAL);
	strcpy(meta.name, "overlong \xc0\xaf");
	assert_int_equal(gisa_json_from_image(img, &meta, 0, &text, &len), -EINVAL);
	strcpy(meta.name, "surrogate \xed\xa0\x80");
	assert_int_equal(gisa_json_from_image(img, &meta, 0, &text, &len), -EINVAL);
	strcpy(meta.name, "cut \xe2\x82");
	assert_int_equal(gisa_json_from_image(img, &meta, 0, &text, &len), -EINVAL);
	strcpy(meta.name, "beyond U+10FFFF \xf4\x90\x80\x80");
	assert_int_equal(gisa_json_from_image(img, &meta, 0, &text, &len), -EINVAL);
	memset(meta.name, 'n', sizeof(meta.name));
	assert_int_equal(gisa_json_from_image(img, &meta, 0, &text, &len), -EINVAL);
	memset(&meta, 0, sizeof(meta));
	memset(meta.producer, 'p', sizeof(meta.producer));
	assert_int_equal(gisa_json_from_image(img, &meta, 0, &text, &len), -EINVAL);
	/* Outputs untouched on error. */
	assert_string_equal(text, "untouched");
	assert_int_equal(len, 7);
	meta.producer[GISA_JSON_PRODUCER_MAX] = 0;
	assert_int_equal(gisa_json_from_image(img, &meta, 0, &text, &len), 0);
	free(text);
	gisa_image_free(img);
}

/* ---- hostile input: every error class ------------------------------------------------ */

struct bad_case {
	const char *from;         /* replaced in small_text (first occurrence) */
	const char *to;
	enum gisa_json_errkind kind;
	const char *path;
	const char *value;        /* err.value */
	const char *at;           /* the error's place: this text in `to`; NULL: anchor */
	const char *anchor;       /* ... or the last character of this text's first occurrence */
	const char *expected;     /* a part of err.expected */
};

#define ENTRY3_1 "{\"type\": 17, \"io\": {\"id\": 1, \"nr\": 17, \"parm\": 0, \"word\": 402653184}}"

static const struct bad_case bad_cases[] = {
	/* schema */
	{ "  \"schema\": \"gisa.v1\",\n", "", GISA_JSON_ERR_SCHEMA, "schema", "", NULL, "{",
	  "\"gisa.v1\"" },
	{ "\"gisa.v1\"", "\"gisa.v2\"", GISA_JSON_ERR_SCHEMA, "schema", "\"gisa.v2\"",
	  "\"gisa.v2\"", NULL, "\"gisa.v1\"" },
	{ "\"gisa.v1\"", "1", GISA_JSON_ERR_SCHEMA, "schema", "1", "1", NULL, "\"gisa.v1\"" },
	{ "\"gisa.v1\"", "\"gisa.v1\\u0000\"", GISA_JSON_ERR_SYNTAX, "schema", "", NULL, NULL,
	  "\\u0000" },
	/* unknown members, anywhere */
	{ "  \"config\": {", "  \"extra\": [1, 2],\n  \"config\": {", GISA_JSON_ERR_UNKNOWN,
	  "extra", "[1, 2]", "[1, 2]", NULL, "a member of the document: schema, meta, config" },
	{ "\"caps\": 3,", "\"caps\": 3, \"Caps\": 4,", GISA_JSON_ERR_UNKNOWN, "config.Caps", "4",
	  "4", NULL, "a member of config: profile, caps, nr_vcpus, mem_cap, abi_order" },
	{ ", \"parm\": 0, ", ", \"parm\": 0, \"parn\": 5, ", GISA_JSON_ERR_UNKNOWN,
	  "lists[3][1].io.parn", "5", "5", NULL, "a member of io: id, nr, parm, word" },
	{ "{\"type\": 17, \"io\"", "{\"type\": 17, \"ext\"", GISA_JSON_ERR_UNKNOWN,
	  "lists[3][1].ext", "{\"id\": 1, \"nr\": 17, \"parm\": 0, \"word\": 402653184}", NULL,
	  "\"ext\": {",
	  "a member of an I/O list entry: type, io" },
	{ "\"producer\": \"gisad 0.1.0\"", "\"producer\": \"gisad 0.1.0\", \"host\": \"h\"",
	  GISA_JSON_ERR_UNKNOWN, "meta.host", "\"h\"", "\"h\"", NULL, "a member of meta" },
	/* missing members */
	{ ",\n    \"kick_cursor\": 0", "", GISA_JSON_ERR_MISSING, "float.kick_cursor", "", NULL,
	  "\"float\": {", "member \"kick_cursor\" of float" },
	{ "\"nr\": 16, ", "", GISA_JSON_ERR_MISSING, "lists[3][0].io.nr", "", NULL,
	  "{\"type\": 16, \"io\": {", "member \"nr\" of io" },
	{ "  \"gisa\": {", "  \"gisx\": {", GISA_JSON_ERR_UNKNOWN, "gisx", NULL, "{", NULL,
	  "a member of the document" },
	{ ", \"maps\": [\"0x10000\", \"0x20000\"]", "", GISA_JSON_ERR_MISSING, "adapters[0].maps",
	  "", NULL, "\"adapters\": [\n    {", "member \"maps\" of an adapter" },
	/* wrong types */
	{ "\"nr_vcpus\": 2", "\"nr_vcpus\": \"2\"", GISA_JSON_ERR_TYPE, "config.nr_vcpus", "\"2\"",
	  "\"2\"", NULL, "an integer 0..4294967295" },
	{ "\"flic_present\": false", "\"flic_present\": 0", GISA_JSON_ERR_TYPE,
	  "float.flic_present", "0", "0", NULL, "true or false" },
	{ "\"mem_cap\": \"0x0\"", "\"mem_cap\": 0", GISA_JSON_ERR_TYPE, "config.mem_cap", "0", "0",
	  NULL, "a 64-bit value as a string" },
	{ "\"parm\": 305419896", "\"parm\": 305419896.0", GISA_JSON_ERR_TYPE,
	  "lists[3][0].io.parm", "305419896.0", "305419896.0", NULL, "an integer" },
	{ "\"nimm\": 0", "\"nimm\": null", GISA_JSON_ERR_TYPE, "float.nimm", "null", "null", NULL,
	  "an integer 0..255" },
	{ "  \"lists\": [\n    [],", "  \"lists\": [\n    {},", GISA_JSON_ERR_TYPE, "lists[0]",
	  "{}",
	  "{}", NULL, "an array of entries" },
	{ ENTRY3_1, "[17]", GISA_JSON_ERR_TYPE, "lists[3][1]", "[17]", "[17]", NULL,
	  "an object (an I/O list entry)" },
	{ "\"run\": \"idle\"", "\"run\": 1", GISA_JSON_ERR_TYPE, "vcpus[1].run", "1", "1", NULL,
	  "one of \"running\", \"idle\", \"stopped\"" },
	{ "\"float\": {", "\"float\": [", GISA_JSON_ERR_SYNTAX, "float[0]", "", NULL, NULL, "" },
	{ "\"maps\": [\"0x10000\", \"0x20000\"]", "\"maps\": \"0x10000\"", GISA_JSON_ERR_TYPE,
	  "adapters[0].maps", "\"0x10000\"", "\"0x10000\"", NULL, "an array of map addresses" },
	{ "\"1\": \"40\"", "\"1\": 64", GISA_JSON_ERR_TYPE, "pages[0].data.1", "64", "64", NULL,
	  "a string of hex digit pairs" },
	{ "\"data\": {\"1\": \"40\", \"256\": \"200000000001\"}", "\"data\": [\"40\"]",
	  GISA_JSON_ERR_TYPE, "pages[0].data", "[\"40\"]", "[", NULL, "an object of runs" },
	{ "\"refcount\": [0, 0, 0, 1, 0, 0, 0, 0]", "\"refcount\": {}", GISA_JSON_ERR_TYPE,
	  "gisa.refcount", "{}", "{}", NULL, "an array of 8 counts" },
	{ "\"uuid\": \"6f1c2a3b-4c5d-4e6f-8091-a2b3c4d5e6f7\"", "\"uuid\": 7", GISA_JSON_ERR_TYPE,
	  "meta.uuid", "7", "7", NULL, "a UUID string" },
	/* values outside their field's range */
	{ "\"parm\": 0", "\"parm\": 4294967296", GISA_JSON_ERR_RANGE, "lists[3][1].io.parm",
	  "4294967296", "4294967296", NULL, "an integer 0..4294967295" },
	{ "\"id\": 1, \"nr\": 17", "\"id\": 65536, \"nr\": 17", GISA_JSON_ERR_RANGE,
	  "lists[3][1].io.id", "65536", "65536", NULL, "an integer 0..65535" },
	{ "\"simm\": 0", "\"simm\": 256", GISA_JSON_ERR_RANGE, "float.simm", "256", "256", NULL,
	  "an integer 0..255" },
	{ "\"kick_cursor\": 0", "\"kick_cursor\": -1", GISA_JSON_ERR_RANGE, "float.kick_cursor",
	  "-1", "-1", NULL, "an integer 0..4294967295" },
	{ "\"isc\": 3", "\"isc\": 256", GISA_JSON_ERR_RANGE, "adapters[0].isc", "256", "256", NULL,
	  "an integer 0..255" },
	{ "\"type\": 17", "\"type\": 4294836224", GISA_JSON_ERR_RANGE, "lists[3][1].type",
	  "4294836224", "4294836224", NULL, "an integer 0..4294836223" },
	{ "\"parm\": 0, \"word\": 402653184", "\"parm\": 0, \"word\": 268435456",
	  GISA_JSON_ERR_RANGE, "lists[3][1].io.word", "268435456", "268435456", NULL,
	  "an interruption word with ISC 3 (bits 0x38000000 = 0x18000000)" },
	{ "\"kick_cursor\": 0", "\"kick_cursor\": 18446744073709551616", GISA_JSON_ERR_RANGE,
	  "float.kick_cursor", "", NULL, NULL, "too big" },
	{ "\"mem_cap\": \"0x0\"", "\"mem_cap\": \"0x\"", GISA_JSON_ERR_RANGE, "config.mem_cap",
	  "\"0x\"", "\"0x\"", NULL, "\"0x\" + 1 to 16 hex digits" },
	{ "\"mem_cap\": \"0x0\"", "\"mem_cap\": \"0x1g\"", GISA_JSON_ERR_RANGE, "config.mem_cap",
	  "\"0x1g\"", "\"0x1g\"", NULL, "\"0x\" + 1 to 16 hex digits" },
	{ "\"mem_cap\": \"0x0\"", "\"mem_cap\": \"0x10000000000000000\"", GISA_JSON_ERR_RANGE,
	  "config.mem_cap", "\"0x10000000000000000\"", "\"0x1", NULL, "1 to 16 hex digits" },
	{ "\"mem_cap\": \"0x0\"", "\"mem_cap\": \"12\"", GISA_JSON_ERR_RANGE, "config.mem_cap",
	  "\"12\"", "\"12\"", NULL, "\"0x\"" },
	{ "\"mem_cap\": \"0x0\"", "\"mem_cap\": \"-0x1\"", GISA_JSON_ERR_RANGE, "config.mem_cap",
	  "\"-0x1\"", "\"-0x1\"", NULL, "\"0x\"" },
	{ "\"0x20000\"]", "\"0x2000 \"]", GISA_JSON_ERR_RANGE, "adapters[0].maps[1]",
	  "\"0x2000 \"", "\"0x2000 \"", NULL, "hex digits" },
	{ "\"profile\": \"newest\"", "\"profile\": \"sideways\"", GISA_JSON_ERR_RANGE,
	  "config.profile", "\"sideways\"", "\"sideways\"", NULL,
	  "one of \"classic\", \"newest\"" },
	{ "\"abi_order\": \"be\"", "\"abi_order\": \"BE\"", GISA_JSON_ERR_RANGE,
	  "config.abi_order", "\"BE\"", "\"BE\"", NULL, "one of \"be\", \"le\"" },
	{ "\"1\": \"40\"", "\"4096\": \"40\"", GISA_JSON_ERR_RANGE, "pages[0].data.4096", "\"40\"",
	  "\"40\"", NULL, "a byte offset 0..4095 as the key" },
	{ "\"1\": \"40\"", "\"01\": \"40\"", GISA_JSON_ERR_RANGE, "pages[0].data.01", "\"40\"",
	  "\"40\"", NULL, "in decimal without leading zeros" },
	{ "\"1\": \"40\"", "\"0x1\": \"40\"", GISA_JSON_ERR_RANGE, "pages[0].data.0x1", "\"40\"",
	  "\"40\"", NULL, "a byte offset" },
	{ "\"1\": \"40\"", "\"1\": \"4\"", GISA_JSON_ERR_RANGE, "pages[0].data.1", "\"4\"", "\"4\"",
	  NULL, "hex digit pairs" },
	{ "\"1\": \"40\"", "\"1\": \"\"", GISA_JSON_ERR_RANGE, "pages[0].data.1", "\"\"", "\"\"",
	  NULL, "a non-empty string" },
	{ "\"1\": \"40\"", "\"1\": \"4x\"", GISA_JSON_ERR_RANGE, "pages[0].data.1", "\"4x\"",
	  "\"4x\"", NULL, "hex digit pairs" },
	{ "\"256\": \"200000000001\"", "\"4091\": \"200000000001\"", GISA_JSON_ERR_RANGE,
	  "pages[0].data.4091", "\"200000000001\"", "\"2", NULL,
	  "at most 5 bytes (the run starts at offset 4091" },
	{ "\"256\": \"200000000001\"", "\"256\": \"200000000001\", \"0\": \"0000\"",
	  GISA_JSON_ERR_RANGE, "pages[0].data.0", "\"0000\"", "\"0000\"", NULL,
	  "a run that overlaps no other (byte 1 is in two)" },
	{ "\"uuid\": \"6f1c2a3b-4c5d-4e6f-8091-a2b3c4d5e6f7\"",
	  "\"uuid\": \"6f1c2a3b-4c5d-4e6f-8091_a2b3c4d5e6f7\"", GISA_JSON_ERR_RANGE, "meta.uuid",
	  "\"6f1c2a3b-4c5d-4e6f-8091_a2b3c4d5e6f7\"", "\"6", NULL, "a UUID" },
	{ "\"2023-11-14T22:13:20.123456789Z\"", "\"2023-02-29T22:13:20Z\"", GISA_JSON_ERR_RANGE,
	  "meta.created", "\"2023-02-29T22:13:20Z\"", "\"2", NULL, "a UTC time" },
	{ "\"2023-11-14T22:13:20.123456789Z\"", "\"2554-07-21T23:34:33.709551616Z\"",
	  GISA_JSON_ERR_RANGE, "meta.created", "\"2554-07-21T23:34:33.709551616Z\"", "\"2", NULL,
	  "at most 2554-07-21T23:34:33.709551615Z" },
	{ "\"2023-11-14T22:13:20.123456789Z\"", "\"1970-01-01T00:00:00Z\"", GISA_JSON_ERR_RANGE,
	  "meta.created", "\"1970-01-01T00:00:00Z\"", "\"1", NULL, "after 1970-01-01T00:00:00Z" },
	{ "\"2023-11-14T22:13:20.123456789Z\"", "\"2023-11-14 22:13:20Z\"", GISA_JSON_ERR_RANGE,
	  "meta.created", "\"2023-11-14 22:13:20Z\"", "\"2", NULL, "YYYY-MM-DDTHH:MM:SS" },
	{ "\"name\": \"vm-\\\"1\\\"\"", "\"name\": \"\"", GISA_JSON_ERR_RANGE, "meta.name", "\"\"",
	  "\"\"", NULL, "a string of 1 to 255 bytes" },
	/* lengths */
	{ "\n  ],\n  \"adapters\"", ",\n    []\n  ],\n  \"adapters\"", GISA_JSON_ERR_LENGTH,
	  "lists",
	  NULL, NULL, "\"lists\": [", "exactly 10 lists" },
	{ "[0, 0, 0, 1, 0, 0, 0, 0]", "[0, 0, 0, 1, 0, 0, 0]", GISA_JSON_ERR_LENGTH,
	  "gisa.refcount", "[0, 0, 0, 1, 0, 0, 0]", "[", NULL, "exactly 8 counts" },
	/* duplicates */
	{ "\"caps\": 3,", "\"caps\": 3, \"caps\": 3,", GISA_JSON_ERR_DUPLICATE, "config.caps", "",
	  NULL, NULL, "duplicate object key" },
	{ "\"1\": \"40\"", "\"1\": \"40\", \"1\": \"41\"", GISA_JSON_ERR_DUPLICATE,
	  "pages[0].data.1", "", NULL, NULL, "duplicate" },
	/* syntax */
	{ "\"timer_delay_ns\": 0\n", "\"timer_delay_ns\": 0,\n", GISA_JSON_ERR_SYNTAX, "gisa",
	  "",
	  NULL, NULL, "expected" },
	{ "  }\n}\n", "  }\n}}\n", GISA_JSON_ERR_SYNTAX, "", "", NULL, NULL, "end of file" },
	/* the image's own checks, by path */
	{ "\"nr_vcpus\": 2", "\"nr_vcpus\": 1", GISA_JSON_ERR_IMAGE, "vcpus", NULL,
	  NULL, "\"vcpus\": [", "one entry per configured vcpu" },
	{ "{\"slot\": 0, \"gpa\": \"0x0\", \"size\": \"0x100000\"}",
	  "{\"slot\": 0, \"gpa\": \"0x0\", \"size\": \"0x100000\"}, "
	  "{\"slot\": 1, \"gpa\": \"0xff000\", \"size\": \"0x1000\"}", GISA_JSON_ERR_IMAGE,
	  "memslots[1].gpa", "\"0xff000\"", "\"0xff000\"", NULL, "ascending, not overlapping" },
	{ "{\"slot\": 0, \"gpa\": \"0x0\", \"size\": \"0x100000\"}",
	  "{\"slot\": 0, \"gpa\": \"0x0\", \"size\": \"0x100800\"}", GISA_JSON_ERR_IMAGE,
	  "memslots[0].size", "\"0x100800\"", "\"0x100800\"", NULL, "page-aligned" },
	{ "\"gpa\": \"0x10000\", \"data\"", "\"gpa\": \"0x10001\", \"data\"", GISA_JSON_ERR_IMAGE,
	  "pages[0].gpa", "\"0x10001\"", "\"0x10001\"", NULL, "page-aligned" },
	{ "{\"gsi\": 5,", "{\"gsi\": 4096,", GISA_JSON_ERR_IMAGE, "routes[0].gsi", "4096", "4096",
	  NULL, "below 4096" },
	{ "{\"id\": 2,", "{\"id\": 64,", GISA_JSON_ERR_IMAGE, "adapters[0].id", "64", "64", NULL,
	  "below 64" },
};

/* 1-based line and column of an ASCII text's byte offset. */
static void text_place(const char *t, size_t pos, int *line, int *column)
{
	*line = 1;
	*column = 1;
	for (size_t i = 0; i < pos; i++) {
		if (t[i] == '\n') {
			(*line)++;
			*column = 1;
		} else {
			(*column)++;
		}
	}
}

static char *replace(const char *base, const char *from, const char *to, size_t *ret_start)
{
	const char *p = strstr(base, from);
	size_t n = strlen(base) - strlen(from) + strlen(to) + 1;
	char *s;

	assert_non_null(p);
	s = xcalloc(1, n);
	memcpy(s, base, (size_t)(p - base));
	strcpy(s + (p - base), to);
	strcat(s, p + strlen(from));
	*ret_start = (size_t)(p - base);
	return s;
}

/* A refused text: -EINVAL (or -E2BIG), nothing returned, *err as expected. */
static void expect_refused(const char *text, size_t len, int rc, struct gisa_json_error *e)
{
	static struct gisa_image sentinel;
	struct gisa_image *img = &sentinel;
	struct gisa_json_meta meta, before;

	memset(&meta, 0xa5, sizeof(meta));
	before = meta;
	memset(e, 0x5a, sizeof(*e));
	assert_int_equal(gisa_json_to_image(text, len, &img, &meta, e), rc);
	assert_ptr_equal(img, &sentinel);
	assert_memory_equal(&meta, &before, sizeof(meta));
	assert_int_equal(gisa_json_to_image(text, len, &img, NULL, NULL), rc);
	assert_ptr_equal(img, &sentinel);
}

static void errors_by_class(void **state)
{
	bool seen[GISA_JSON_ERR_IMAGE + 1] = { false };

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct gisa_json_error e;
		size_t start, pos = 0;
		char *text = replace(small_text, c->from, c->to, &start);
		int line, column;

		expect_refused(text, strlen(text), -EINVAL, &e);
		if (e.kind != c->kind || strcmp(e.path, c->path) ||
		    !strstr(e.expected, c->expected) || (c->value && strcmp(e.value, c->value)))
			print_error("case %u: got %s at '%s' value '%s' (line %d col %d): %s\n", i,
				    gisa_json_errkind_name(e.kind), e.path, e.value, e.line,
				    e.column, e.expected);
		assert_int_equal(e.kind, c->kind);
		assert_string_equal(e.path, c->path);
		assert_non_null(strstr(e.expected, c->expected));
		if (c->value)
			assert_string_equal(e.value, c->value);
		if (c->at) {
			const char *p = strstr(c->to, c->at);

			assert_non_null(p);
			pos = start + (size_t)(p - c->to);
		} else if (c->anchor) {
			const char *p = strstr(text, c->anchor);

			assert_non_null(p);
			pos = (size_t)(p - text) + strlen(c->anchor) - 1;
		}
		if (c->at || c->anchor) {
			text_place(text, pos, &line, &column);
			if (e.position != pos || e.line != line || e.column != column)
				print_error("case %u: at %zu (line %d col %d), want %zu (%d, %d)\n",
					    i, e.position, e.line, e.column, pos, line, column);
			assert_int_equal(e.position, pos);
			assert_int_equal(e.line, line);
			assert_int_equal(e.column, column);
		} else {
			/* The parser's own place: on the replaced text's line or the next. */
			text_place(text, start, &line, &column);
			assert_true(e.line >= line && e.line <= line + 1);
			assert_true(e.column >= 1);
		}
		seen[e.kind] = true;
		free(text);
	}
	for (unsigned k = GISA_JSON_ERR_SYNTAX; k <= GISA_JSON_ERR_IMAGE; k++)
		if (k != GISA_JSON_ERR_TOO_LONG)
			assert_true(seen[k]);
}

static void error_not_an_object(void **state)
{
	static const char *const texts[] = { "[]", " \"gisa.v1\" ", "7", "null" };
	struct gisa_json_error e;

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(texts); i++) {
		expect_refused(texts[i], strlen(texts[i]), -EINVAL, &e);
		if (i == 0) {
			assert_int_equal(e.kind, GISA_JSON_ERR_TYPE);
			assert_string_equal(e.path, "");
			assert_string_equal(e.value, "[]");
			assert_string_equal(e.expected, "an object (the document)");
			assert_int_equal(e.line, 1);
			assert_int_equal(e.column, 1);
		} else {
			/* jansson takes only objects and arrays at the top. */
			assert_true(e.kind == GISA_JSON_ERR_TYPE || e.kind == GISA_JSON_ERR_SYNTAX);
		}
	}
	expect_refused("", 0, -EINVAL, &e);
	assert_int_equal(e.kind, GISA_JSON_ERR_SYNTAX);
	expect_refused("{\"schema\": \"gisa.v1\"", strlen("{\"schema\": \"gisa.v1\""), -EINVAL, &e);
	assert_int_equal(e.kind, GISA_JSON_ERR_SYNTAX);
	/* Only len bytes are read: a valid text cut short is refused. */
	expect_refused(small_text, strlen(small_text) - 3, -EINVAL, &e);
	assert_int_equal(e.kind, GISA_JSON_ERR_SYNTAX);
	expect_refused("{\"schema\": \"gisa.v1\", \"b\xff\": 1}",
		       strlen("{\"schema\": \"gisa.v1\", \"b\xff\": 1}"), -EINVAL, &e);
	assert_int_equal(e.kind, GISA_JSON_ERR_SYNTAX);
}

/* Values are cut to fit, at a character boundary, with "...". */
static void error_value_cut(void **state)
{
	struct gisa_json_error e;
	size_t start;
	char *text = replace(small_text, "\"caps\": 3,",
			     "\"caps\": \"\xc3\xa9\xc3\xa9\xc3\xa9 a long value that does not fit "
			     "into the error's value buffer at all\",", &start);

	(void)state;
	expect_refused(text, strlen(text), -EINVAL, &e);
	assert_int_equal(e.kind, GISA_JSON_ERR_TYPE);
	assert_string_equal(e.path, "config.caps");
	assert_int_equal(strlen(e.value), GISA_JSON_VALUE_MAX - 1);
	assert_memory_equal(e.value, "\"\xc3\xa9\xc3\xa9\xc3\xa9 a long value", 20);
	assert_string_equal(e.value + strlen(e.value) - 3, "...");
	free(text);

	/* A column counts characters, as jansson's do. */
	text = replace(small_text, "\"producer\": \"gisad 0.1.0\"",
		       "\"producer\": \"\xc3\xa9\xc3\xa9\", \"x\xc3\xa9\": 0", &start);
	expect_refused(text, strlen(text), -EINVAL, &e);
	assert_int_equal(e.kind, GISA_JSON_ERR_UNKNOWN);
	assert_string_equal(e.path, "meta.x\xc3\xa9");
	assert_string_equal(e.value, "0");
	assert_int_equal(e.line, 7);
	/* 4 spaces, then the characters of "producer": "ee", "xe": before the value. */
	assert_int_equal(e.column, 5 + 24);
	free(text);

	/* Keys spelled with escapes are found in the text all the same. */
	text = replace(small_text, "\"simm\": 0", "\"s\\u0069mm\": 256", &start);
	expect_refused(text, strlen(text), -EINVAL, &e);
	assert_int_equal(e.kind, GISA_JSON_ERR_RANGE);
	assert_string_equal(e.path, "float.simm");
	assert_string_equal(e.value, "256");
	assert_int_equal(e.position, start + strlen("\"s\\u0069mm\": "));
	free(text);
}

static void error_too_long(void **state)
{
	size_t len = GISA_JSON_MAX_TEXT + 1;
	char *big = malloc(len);
	struct gisa_json_error e;
	char want[64];

	(void)state;
	assert_non_null(big);
	/* Refused on the length alone: the bytes are not even looked at. */
	expect_refused(big, len, -E2BIG, &e);
	assert_int_equal(e.kind, GISA_JSON_ERR_TOO_LONG);
	assert_int_equal(e.line, 0);
	assert_string_equal(e.path, "");
	snprintf(want, sizeof(want), "%zu bytes", len);
	assert_string_equal(e.value, want);
	snprintf(want, sizeof(want), "at most %zu bytes", (size_t)GISA_JSON_MAX_TEXT);
	assert_string_equal(e.expected, want);
	free(big);
}

/* small_text with n copies of entry in list l (one of the empty ones). */
static char *text_with_list(unsigned l, size_t n, const char *entry)
{
	const char *p = strstr(small_text, "\"lists\": [");
	size_t elen = strlen(entry), k, at;
	char *text;

	/* Each list starts a line "    [": the entries are indented deeper. */
	for (unsigned i = 0; i <= l; i++)
		p = strstr(p + 1, "\n    [");
	p += strlen("\n    ");
	assert_memory_equal(p, "[]", 2);
	at = (size_t)(p - small_text);
	text = xcalloc(1, strlen(small_text) + n * (elen + 1) + 8);
	memcpy(text, small_text, at);
	k = at;
	text[k++] = '[';
	for (size_t i = 0; i < n; i++) {
		if (i)
			text[k++] = ',';
		memcpy(text + k, entry, elen);
		k += elen;
	}
	text[k++] = ']';
	strcpy(text + k, p + 2);
	return text;
}

static void error_lengths(void **state)
{
	static const struct {
		unsigned list;
		size_t n;
		const char *expected;
	} t[] = {
		{ 0, GISA_MAX_FLOAT_IRQS + 1,
		  "at most 266250 entries (266250 I/O entries in all)" },
		/* Lists 3 (2 entries) and 7 together: the limit is for all of them. */
		{ 7, GISA_MAX_FLOAT_IRQS - 1,
		  "at most 266248 entries (266250 I/O entries in all)" },
		{ GISA_LIST_PFAULT, GISA_MAX_PFAULT_IRQS + 1, "at most 16320 entries" },
	};
	struct gisa_json_error e;
	char path[32];

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(t); i++) {
		/* Entries are not looked at before the length is checked. */
		char *text = text_with_list(t[i].list, t[i].n, "0");

		expect_refused(text, strlen(text), -EINVAL, &e);
		assert_int_equal(e.kind, GISA_JSON_ERR_LENGTH);
		snprintf(path, sizeof(path), "lists[%u]", t[i].list);
		assert_string_equal(e.path, path);
		assert_string_equal(e.expected, t[i].expected);
		assert_memory_equal(e.value, "[0,0,0,", 7);
		free(text);
	}
	/* At the limit, the entries are read (and the first bad one named). */
	{
		char *text = text_with_list(7, GISA_MAX_FLOAT_IRQS - 2, "0");

		expect_refused(text, strlen(text), -EINVAL, &e);
		assert_int_equal(e.kind, GISA_JSON_ERR_TYPE);
		assert_string_equal(e.path, "lists[7][0]");
		free(text);
	}
}

static void error_section_lengths(void **state)
{
	static const struct {
		const char *from;
		const char *elem;         /* each element, followed by a comma */
		bool keyed;               /* elem is a member: prefixed by a unique key */
		size_t n;
		const char *path;
		const char *expected;
	} t[] = {
		{ "\"adapters\": [", "{}", false, GISA_MAX_ADAPTERS + 1, "adapters",
		  "at most 64 adapters" },
		{ "\"routes\": [", "{}", false, GISA_MAX_IRQ_ROUTES + 1, "routes",
		  "at most 4096 routes" },
		{ "\"memslots\": [", "{}", false, GISA_MAX_MEMSLOTS + 1, "memslots",
		  "at most 512 memslots" },
		{ "\"pages\": [", "{}", false, GISA_IMAGE_MAX_PAGES + 1, "pages", "at most 8192 pages" },
		{ "\"vcpus\": [", "{}", false, GISA_MAX_VCPUS + 1, "vcpus", "at most 255 vcpus" },
		{ "\"maps\": [", "\"0x1\"", false, GISA_MAX_ADAPTER_MAPS + 1, "adapters[0].maps",
		  "at most 256 map addresses" },
		/* Keys the page's own runs do not repeat (duplicates are found first). */
		{ "\"data\": {", "\"00\"", true, GISA_PAGE_SIZE + 1, "pages[0].data",
		  "at most 4096 runs" },
	};
	struct gisa_json_error e;

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(t); i++) {
		size_t size = strlen(t[i].from) + t[i].n * (strlen(t[i].elem) + 16) + 1;
		char *to = xcalloc(1, size), *text;
		size_t start, k = (size_t)snprintf(to, size, "%s", t[i].from);

		for (size_t j = 0; j < t[i].n; j++) {
			if (t[i].keyed)
				k += (size_t)snprintf(to + k, size - k, "\"x%zu\": ", j);
			k += (size_t)snprintf(to + k, size - k, "%s,", t[i].elem);
		}
		text = replace(small_text, t[i].from, to, &start);
		expect_refused(text, strlen(text), -EINVAL, &e);
		assert_int_equal(e.kind, GISA_JSON_ERR_LENGTH);
		assert_string_equal(e.path, t[i].path);
		assert_string_equal(e.expected, t[i].expected);
		assert_int_equal(e.position, start + strlen(t[i].from) - 1);
		free(to);
		free(text);
	}
}

/* Objects and arrays, and tokens (values and keys), as the reader's pre-scan counts them. */
static void count_values(const char *t, size_t *ret_containers, size_t *ret_tokens)
{
	size_t containers = 0, tokens = 0;
	bool in_string = false, scalar = false;

	for (; *t; t++) {
		if (in_string) {
			if (*t == '\\')
				t++;
			else if (*t == '"')
				in_string = false;
			continue;
		}
		if (scalar && strchr(",:]} \n", *t))
			scalar = false;
		if (*t == '"') {
			in_string = true;
			tokens++;
		} else if (*t == '{' || *t == '[') {
			containers++;
			tokens++;
		} else if (!scalar && strchr("-0123456789tfn", *t)) {
			scalar = true;
			tokens++;
		}
	}
	*ret_containers = containers;
	*ret_tokens = tokens;
}

/* Texts with more values than the largest image has are refused before parsing. */
static void error_too_many_values(void **state)
{
	static const char head[] = "{\"schema\": \"gisa.v1\", \"x\": [";
	static const struct {
		const char *elem;
		size_t n;                 /* elements up to the cap: head has 2 containers, 5 tokens */
		size_t cap;
		const char *expected;
		bool parse;               /* parse the text at the cap (costly for tokens) */
	} t[] = {
		{ "{},", GISA_JSON_MAX_CONTAINERS - 2, GISA_JSON_MAX_CONTAINERS,
		  "objects and arrays in all", true },
		{ "0,", GISA_JSON_MAX_TOKENS - 5, GISA_JSON_MAX_TOKENS, "values and keys in all",
		  false },
	};
	struct gisa_json_error e;
	char want[96];

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(t); i++) {
		size_t elen = strlen(t[i].elem), hlen = strlen(head), k = hlen;
		char *text = xcalloc(1, hlen + (t[i].n + 1) * elen + 8);

		memcpy(text, head, hlen);
		for (size_t j = 0; j < t[i].n; j++, k += elen)
			memcpy(text + k, t[i].elem, elen);
		/* At the cap: the parser sees it (and finds "x" unknown). */
		memcpy(text + k - 1, "]}", 3);
		if (t[i].parse) {
			expect_refused(text, strlen(text), -EINVAL, &e);
			assert_int_equal(e.kind, GISA_JSON_ERR_UNKNOWN);
		}
		/* One over: refused where the count passed it, before parsing. */
		text[k - 1] = ',';
		memcpy(text + k, t[i].elem, elen);
		k += elen;
		memcpy(text + k - 1, "]}", 3);
		expect_refused(text, strlen(text), -EINVAL, &e);
		assert_int_equal(e.kind, GISA_JSON_ERR_LENGTH);
		snprintf(want, sizeof(want), "at most %zu %s", t[i].cap, t[i].expected);
		assert_string_equal(e.expected, want);
		assert_int_equal(e.line, 1);
		assert_true(e.position >= k - elen - 1 && e.position <= k);
		snprintf(want, sizeof(want), "x[%zu]", t[i].n);
		assert_string_equal(e.path, want);
		free(text);
	}
}

/* ---- out of memory in the parser --------------------------------------------------- */

static long g_jansson_budget;

static void *budget_malloc(size_t size)
{
	if (g_jansson_budget == 0)
		return NULL;
	if (g_jansson_budget > 0)
		g_jansson_budget--;
	return malloc(size);
}

/*
 * Every allocation of the parser failing in turn: -ENOMEM (or a syntax
 * error: jansson reports some of its allocation failures so), nothing
 * returned and nothing leaked, until the budget suffices.
 */
static void reader_out_of_memory(void **state)
{
	struct gisa_image *img = NULL, *want = small_image();
	struct gisa_json_error e;
	long budget;
	int r = -ENOMEM;

	(void)state;
	snprintf(g_where, sizeof(g_where), "out of memory");
	for (budget = 0; r == -ENOMEM; budget++) {
		assert_true(budget < 100000);
		g_jansson_budget = budget;
		json_set_alloc_funcs(budget_malloc, free);
		r = gisa_json_to_image(small_text, strlen(small_text), &img, NULL, &e);
		json_set_alloc_funcs(malloc, free);
		if (r == -EINVAL) {
			assert_int_equal(e.kind, GISA_JSON_ERR_SYNTAX);
			r = -ENOMEM;
		}
		if (r == -ENOMEM)
			assert_null(img);
	}
	assert_int_equal(r, 0);
	assert_true(budget > 100);
	image_equal(want, img);
	gisa_image_free(img);
	gisa_image_free(want);
}

/* ---- the recode test: snapshot bytes through JSON and back ----------------------------- */

static void snap_meta_from_info(const struct gisa_snap_info *in, struct gisa_json_meta *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", in->vm_name);
	out->has_uuid = in->has_uuid;
	memcpy(out->uuid, in->vm_uuid, sizeof(out->uuid));
	out->created_unix_ns = in->created_unix_ns;
	snprintf(out->producer, sizeof(out->producer), "%s", in->producer);
}

static void recode(const struct gisa_image *img, const struct gisa_snap_meta *smeta,
		   const struct gisa_snap_opts *opts)
{
	uint8_t *file = NULL, *file2 = NULL, *state1 = NULL, *state2 = NULL;
	uint8_t d1[GISA_SNAP_DIGEST_SIZE], d2[GISA_SNAP_DIGEST_SIZE];
	size_t flen = 0, flen2 = 0, slen1 = 0, slen2 = 0, tlen;
	struct gisa_image *decoded = NULL, *back = NULL;
	struct gisa_snap_info info, info2;
	struct gisa_snap_error serr;
	struct gisa_json_meta jm, jm2;
	struct gisa_json_error e;
	struct gisa_snap_meta m2;
	char *text = NULL;

	assert_int_equal(gisa_snap_encode(img, smeta, opts, &file, &flen), 0);
	assert_int_equal(gisa_snap_decode(file, flen, &decoded, &info, &serr), 0);
	snap_meta_from_info(&info, &jm);
	assert_int_equal(gisa_json_from_image(decoded, &jm, GISA_JSON_PRETTY, &text, &tlen), 0);
	json_ok(gisa_json_to_image(text, tlen, &back, &jm2, &e), &e);
	meta_equal(&jm, &jm2);
	m2 = (struct gisa_snap_meta){
		.vm_name = jm2.name[0] ? jm2.name : NULL,
		.vm_uuid = jm2.has_uuid ? jm2.uuid : NULL,
		.created_unix_ns = jm2.created_unix_ns,
		.producer = jm2.producer,
	};
	assert_int_equal(gisa_snap_encode(back, &m2, opts, &file2, &flen2), 0);
	assert_int_equal(flen, flen2);
	assert_memory_equal(file, file2, flen);
	/* The state itself, and its digest, compared apart from the container. */
	assert_int_equal(gisa_snap_state_bytes(img, &state1, &slen1), 0);
	assert_int_equal(gisa_snap_state_bytes(back, &state2, &slen2), 0);
	assert_int_equal(slen1, slen2);
	assert_memory_equal(state1, state2, slen1);
	assert_int_equal(gisa_snap_digest(img, d1), 0);
	assert_int_equal(gisa_snap_digest(back, d2), 0);
	assert_memory_equal(d1, d2, sizeof(d1));
	assert_int_equal(gisa_snap_info(file2, flen2, &info2, &serr), 0);
	assert_memory_equal(info.digest, info2.digest, sizeof(info.digest));
	assert_memory_equal(info.digest, d1, sizeof(d1));
	image_equal(img, back);
	free(file);
	free(file2);
	free(state1);
	free(state2);
	free(text);
	gisa_image_free(decoded);
	gisa_image_free(back);
}

static void snapshot_recode(void **state)
{
	static const uint8_t uuid[16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
					  0x0f, 0xed, 0xcb, 0xa9, 0x87, 0x65, 0x43, 0x21 };
	const struct gisa_snap_meta metas[] = {
		{ .vm_name = "guest-1", .vm_uuid = uuid, .created_unix_ns = 1767225600000000001ull,
		  .producer = "gisad test" },
		{ .vm_name = NULL, .vm_uuid = NULL, .created_unix_ns = 0, .producer = NULL },
	};
	const struct gisa_snap_opts opts[] = {
		{ .compress = true, .level = 0 },
		{ .compress = false },
		{ .compress = true, .level = 19 },
	};
	unsigned k = 0;

	(void)state;
	for (unsigned p = 0; p < 2; p++)
		for (uint32_t caps = 0; caps <= GISA_CAP_ALL; caps++) {
			struct gisa_image *img;

			img = random_image((enum gisa_profile)p, caps, 100 + caps);
			snprintf(g_where, sizeof(g_where), "recode profile %u caps %u", p, caps);
			recode(img, &metas[k % 2], &opts[k % 3]);
			k++;
			gisa_image_free(img);
		}
	{
		struct gisa_image *img = small_image();

		snprintf(g_where, sizeof(g_where), "recode small image");
		recode(img, &metas[0], NULL);
		gisa_image_free(img);
	}
}

/* ---- size: the largest state, and the largest text ------------------------------------ */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The benchmark's maximum state: 266,250 I/O interrupts over 4,096
 * subchannels on all ISCs, each subchannel with its own parameter, plus
 * 64 adapters and 4,096 routes.
 */
static struct gisa_image *max_io_image(void)
{
	struct gisa_image *img = new_image();
	uint32_t per_isc[GISA_MAX_ISC + 1] = { 0 }, k[GISA_MAX_ISC + 1] = { 0 };

	img->config = (struct gisa_vm_config){ GISA_PROFILE_NEWEST, GISA_CAP_ALL, 4, 0, GISA_BE };
	for (uint32_t i = 0; i < GISA_MAX_FLOAT_IRQS; i++)
		per_isc[i % 4096 % 8]++;
	for (unsigned l = 0; l <= GISA_MAX_ISC; l++)
		assert_int_equal(gisa_image_set_list(img, l, per_isc[l]), 0);
	for (uint32_t i = 0; i < GISA_MAX_FLOAT_IRQS; i++) {
		uint32_t sch = i % 4096, isc = sch % 8;
		struct gisa_list_entry *e = &img->lists[isc].e[k[isc]++];

		e->type = GISA_INT_IO(0, 0, 0, sch);
		e->u.io = (struct gisa_io_info){ 0x0001, (uint16_t)sch, 0x9e3779b9u * (sch + 1),
						 isc << 27 };
	}
	assert_int_equal(gisa_image_set_counts(img, GISA_MAX_ADAPTERS, GISA_MAX_IRQ_ROUTES, 1, 0,
					       4), 0);
	for (uint32_t i = 0; i < GISA_MAX_ADAPTERS; i++)
		img->adapters[i].a = (struct gisa_state_adapter){ .id = i, .isc = i % 8,
								  .maskable = true };
	for (uint32_t i = 0; i < GISA_MAX_IRQ_ROUTES; i++)
		img->routes[i] = t_route(i, 0x100000 + (i / 64) * 0x1000, i % 64 * 8,
					 0x200000 + (i / 64) * 8, i % 8, i % 64);
	img->memslots[0] = (struct gisa_image_memslot){ 0, 0, 1u << 30 };
	assert_int_equal(gisa_image_check(img, NULL), 0);
	return img;
}

static void large_roundtrip(void **state)
{
	struct gisa_image *img = max_io_image(), *back = NULL;
	struct gisa_json_error e;
	char *text = NULL;
	size_t len;
	double t0, t1, t2;

	(void)state;
	snprintf(g_where, sizeof(g_where), "266,250 I/O entries");
	t0 = now();
	assert_int_equal(gisa_json_from_image(img, NULL, GISA_JSON_COMPACT, &text, &len), 0);
	t1 = now();
	json_ok(gisa_json_to_image(text, len, &back, NULL, &e), &e);
	t2 = now();
	print_message("266,250 I/O entries: %zu bytes of JSON, write %.2f s, read %.2f s\n", len,
		      t1 - t0, t2 - t1);
	image_equal(img, back);
	free(text);
	gisa_image_free(back);
	gisa_image_free(img);
}

/* Every count at its limit, every value at its widest: the text stays within the cap. */
static void largest_text_within_cap(void **state)
{
	struct gisa_image *img = new_image();
	struct gisa_json_meta meta;
	const uint64_t ones = UINT64_MAX;
	size_t len, clen, containers, tokens;
	char *text = NULL;

	(void)state;
	img->config = (struct gisa_vm_config){ GISA_PROFILE_NEWEST, UINT32_MAX, GISA_MAX_VCPUS,
					       ones, GISA_LE };
	img->fl = (struct gisa_float_image){ true, true, true, true, true, UINT32_MAX, ones, ones,
					     0xff, 0xff, UINT32_MAX };
	assert_int_equal(gisa_image_set_list(img, 7, GISA_MAX_FLOAT_IRQS), 0);
	for (uint32_t i = 0; i < GISA_MAX_FLOAT_IRQS; i++)
		img->lists[7].e[i] = (struct gisa_list_entry){
			.type = GISA_INT_IO_MAX,
			.u.io = { UINT16_MAX, UINT16_MAX, UINT32_MAX, UINT32_MAX },
		};
	assert_int_equal(gisa_image_set_list(img, GISA_LIST_PFAULT, GISA_MAX_PFAULT_IRQS), 0);
	assert_int_equal(gisa_image_set_list(img, GISA_LIST_VIRTIO, GISA_MAX_VIRTIO_IRQS), 0);
	for (unsigned l = GISA_LIST_PFAULT; l <= GISA_LIST_VIRTIO; l++)
		for (uint32_t i = 0; i < img->lists[l].n; i++)
			img->lists[l].e[i] = (struct gisa_list_entry){
				.type = UINT32_MAX, .u.ext = { UINT32_MAX, UINT32_MAX, ones },
			};
	assert_int_equal(gisa_image_set_counts(img, GISA_MAX_ADAPTERS, GISA_MAX_IRQ_ROUTES,
					       GISA_MAX_MEMSLOTS, GISA_IMAGE_MAX_PAGES,
					       GISA_MAX_VCPUS), 0);
	for (uint32_t i = 0; i < GISA_MAX_ADAPTERS; i++) {
		img->adapters[i].a = (struct gisa_state_adapter){ i, 255, true, true, true, true,
								  0 };
		assert_int_equal(gisa_image_set_maps(img, i, GISA_MAX_ADAPTER_MAPS), 0);
		for (uint32_t k = 0; k < GISA_MAX_ADAPTER_MAPS; k++)
			img->adapters[i].maps[k] = ones;
	}
	for (uint32_t i = 0; i < GISA_MAX_IRQ_ROUTES; i++)
		img->routes[i] = (struct gisa_route_entry){
			i, UINT32_MAX, UINT32_MAX, { ones, ones, ones, UINT32_MAX, UINT32_MAX },
		};
	for (uint32_t i = 0; i < GISA_MAX_MEMSLOTS; i++)
		img->memslots[i] = (struct gisa_image_memslot){
			UINT32_MAX - i, 0xf000000000000000ull + (uint64_t)i * 0x100000000000ull,
			0x100000000000ull,
		};
	for (uint32_t i = 0; i < GISA_IMAGE_MAX_PAGES; i++) {
		img->pages[i].gpa = 0xf000000000000000ull + (uint64_t)i * GISA_PAGE_SIZE;
		memset(img->pages[i].data, 0xff, GISA_PAGE_SIZE);
	}
	for (uint32_t i = 0; i < GISA_MAX_VCPUS; i++)
		img->vcpus[i] = (struct gisa_vcpu_state){ ones, ones, ones, ones,
							  GISA_VCPU_STOPPED, false };
	img->gisa = (struct gisa_state_gisa){ true, 0xff, 0xff, 0xff,
					      { UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX,
						UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX },
					      false, false, UINT32_MAX };
	/* Meta at its longest: every byte escaped as \u00XX. */
	memset(&meta, 0, sizeof(meta));
	memset(meta.name, 0x01, GISA_JSON_NAME_MAX);
	memset(meta.producer, 0x01, GISA_JSON_PRODUCER_MAX);
	meta.has_uuid = true;
	meta.created_unix_ns = ones;

	assert_int_equal(gisa_json_from_image(img, &meta, GISA_JSON_PRETTY, &text, &len), 0);
	count_values(text, &containers, &tokens);
	print_message("largest image: %zu bytes indented (cap %zu), %zu objects and arrays "
		      "(cap %zu), %zu tokens (cap %zu)\n", len, (size_t)GISA_JSON_MAX_TEXT,
		      containers, (size_t)GISA_JSON_MAX_CONTAINERS, tokens,
		      (size_t)GISA_JSON_MAX_TOKENS);
	assert_true(len <= GISA_JSON_MAX_TEXT);
	assert_true(containers <= GISA_JSON_MAX_CONTAINERS);
	assert_true(tokens <= GISA_JSON_MAX_TOKENS);
	free(text);
	assert_int_equal(gisa_json_from_image(img, &meta, GISA_JSON_COMPACT, &text, &clen), 0);
	assert_true(clen < len);
	free(text);

	/* The worst page pattern for runs: one byte, then just enough zeros to split. */
	for (uint32_t i = 0; i < GISA_IMAGE_MAX_PAGES; i++) {
		memset(img->pages[i].data, 0, GISA_PAGE_SIZE);
		for (uint32_t k = 0; k < GISA_PAGE_SIZE; k += 17)
			img->pages[i].data[k] = 0xff;
	}
	assert_int_equal(gisa_json_from_image(img, &meta, GISA_JSON_PRETTY, &text, &clen), 0);
	assert_true(clen <= len);
	count_values(text, &containers, &tokens);
	print_message("with the most runs per page: %zu bytes, %zu objects and arrays, "
		      "%zu tokens\n", clen, containers, tokens);
	assert_true(containers <= GISA_JSON_MAX_CONTAINERS);
	assert_true(tokens <= GISA_JSON_MAX_TOKENS);
	free(text);
	gisa_image_free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_classic),
		cmocka_unit_test(roundtrip_classic_ais),
		cmocka_unit_test(roundtrip_classic_gisa),
		cmocka_unit_test(roundtrip_classic_gisa_ais),
		cmocka_unit_test(roundtrip_newest),
		cmocka_unit_test(roundtrip_newest_ais),
		cmocka_unit_test(roundtrip_newest_gisa),
		cmocka_unit_test(roundtrip_newest_gisa_ais),
		cmocka_unit_test(roundtrip_coverage),
		cmocka_unit_test(extreme_values),
		cmocka_unit_test(golden_layout),
		cmocka_unit_test(reader_accepts_any_spelling),
		cmocka_unit_test(member_names_by_value),
		cmocka_unit_test(meta_created_times),
		cmocka_unit_test(meta_absent_and_partial),
		cmocka_unit_test(writer_refusals),
		cmocka_unit_test(errors_by_class),
		cmocka_unit_test(error_not_an_object),
		cmocka_unit_test(error_value_cut),
		cmocka_unit_test(error_too_long),
		cmocka_unit_test(error_lengths),
		cmocka_unit_test(error_section_lengths),
		cmocka_unit_test(error_too_many_values),
		cmocka_unit_test(reader_out_of_memory),
		cmocka_unit_test(snapshot_recode),
		cmocka_unit_test(large_roundtrip),
		cmocka_unit_test(largest_text_within_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
