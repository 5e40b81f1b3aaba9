/* SPDX-License-Identifier: MIT */
/*
 * Compatibility check and conversion (compat.h).  One walk over the image
 * lists the changes in their stable order; the conversion applies exactly
 * the changes the walk lists, so check and convert cannot disagree.
 *
 * Invariants:
 *  C1  verdict = the worst severity among the changes (EXACT if none).
 *  C2  gisa_compat_convert changes the copy only where a listed change
 *      says so, plus the destination's profile and GISA capability.
 *  C3  The converted image passes gisa_image_check and the restore.h
 *      checks on the destination: no AI entry stays in a list next to a
 *      GISA, no GISA state stays without one, no maps outside NEWEST.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gisa/compat.h>

struct changes {
	struct gisa_compat_change *v;
	size_t n, cap;
	int err;
};

static void add(struct changes *c, enum gisa_compat_kind kind, enum gisa_compat_verdict sev,
		const char *section, uint32_t key, uint64_t index, uint64_t value,
		const char *what)
{
	if (c->err)
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct gisa_compat_change *v = realloc(c->v, cap * sizeof(*v));

		if (!v) {
			c->err = -ENOMEM;
			return;
		}
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = (struct gisa_compat_change){
		.kind = kind, .severity = sev, .section = section, .key = key,
		.index = index, .value = value, .what = what,
	};
}

static bool same_page(uint64_t a, uint64_t b)
{
	return (a & ~(uint64_t)(GISA_PAGE_SIZE - 1)) == (b & ~(uint64_t)(GISA_PAGE_SIZE - 1));
}

static bool is_ai_entry(const struct gisa_list_entry *e)
{
	return e->type <= GISA_INT_IO_MAX && (e->type & GISA_INT_IO_AI_MASK);
}

static void walk(const struct gisa_image *img, const struct gisa_compat_dest *dest,
		 struct changes *c)
{
	const uint32_t src_caps = img->config.caps;
	const bool src_gisa = src_caps & GISA_CAP_GISA, dst_gisa = dest->caps & GISA_CAP_GISA;
	const bool to_classic = img->config.profile == GISA_PROFILE_NEWEST &&
				dest->profile == GISA_PROFILE_CLASSIC;
	const bool to_newest = img->config.profile == GISA_PROFILE_CLASSIC &&
			       dest->profile == GISA_PROFILE_NEWEST;

	if ((src_caps & GISA_CAP_AIS) && !(dest->caps & GISA_CAP_AIS)) {
		add(c, GISA_CHANGE_AIS_FACILITY, GISA_COMPAT_IMPOSSIBLE, "config.caps", 0, 0,
		    src_caps,
		    "the guest has the AIS facility (72) and the destination offers none");
		for (unsigned i = 0; i <= GISA_MAX_ISC; i++)
			if ((img->fl.simm | img->fl.nimm) & GISA_ISC_BIT(i))
				add(c, GISA_CHANGE_AIS_MODE, GISA_COMPAT_IMPOSSIBLE, "ais", i, 0,
				    (uint64_t)img->fl.simm << 8 | img->fl.nimm,
				    "a suppression mode (simm/nimm) needs the AIS facility");
	}

	for (unsigned i = 0; !src_gisa && dst_gisa && i <= GISA_MAX_ISC; i++) {
		const struct gisa_image_list *l = &img->lists[i];

		for (uint32_t j = 0; j < l->n; j++)
			if (is_ai_entry(&l->e[j]))
				add(c, GISA_CHANGE_AI_TO_IPM, GISA_COMPAT_LOSSY, "lists", i, j,
				    l->e[j].type,
				    "the AI entry coalesces into the ISC's IPM bit: payload lost, "
				    "delivered after the ISC's classic entries");
	}

	if (src_gisa && !dst_gisa) {
		const struct gisa_state_gisa *g = &img->gisa;
		uint64_t io = 0;

		for (unsigned i = 0; i <= GISA_MAX_ISC; i++) {
			io += img->lists[i].n;
			if (g->ipm & GISA_ISC_BIT(i))
				add(c, GISA_CHANGE_IPM_TO_LIST, GISA_COMPAT_LOSSY, "gisa.ipm", i, 0,
				    img->lists[i].n,
				    "the IPM bit becomes an AI entry at the front of the ISC's "
				    "list, ahead of entries the source delivers first");
		}
		io += (uint64_t)__builtin_popcount(g->ipm);
		if (io > GISA_MAX_FLOAT_IRQS)
			add(c, GISA_CHANGE_IO_LIMIT, GISA_COMPAT_IMPOSSIBLE, "lists", 0,
			    GISA_MAX_FLOAT_IRQS, io,
			    "the IPM's AI entries do not fit beside the I/O list entries "
			    "(266250 in all)");
		/* alert_mask mirrors the refcounts; either one names a registration. */
		for (unsigned i = 0; i <= GISA_MAX_ISC; i++)
			if (g->refcount[i] || (g->alert_mask & GISA_ISC_BIT(i)))
				add(c, GISA_CHANGE_GISA_REGISTRATION, GISA_COMPAT_IMPOSSIBLE,
				    "gisa.refcount", i, 0, g->refcount[i],
				    "a passthrough interrupt registration needs a GISA");
		if (g->iam)
			add(c, GISA_CHANGE_GISA_IAM, GISA_COMPAT_IMPOSSIBLE, "gisa.iam", 0, 0,
			    g->iam, "an interruption alert mask needs a GISA");
		if (g->on_alert_list)
			add(c, GISA_CHANGE_GISA_ALERT_LIST, GISA_COMPAT_IMPOSSIBLE,
			    "gisa.on_alert_list", 0, 0, 1,
			    "a GISA on the host's alert list needs a GISA");
		if (g->timer_armed)
			add(c, GISA_CHANGE_GISA_TIMER, GISA_COMPAT_IMPOSSIBLE, "gisa.timer", 0, 0,
			    g->timer_delay_ns, "an armed GISA kicker timer needs a GISA");
	}

	if (to_classic)
		for (uint32_t k = 0; k < img->nr_adapters; k++)
			if (img->adapters[k].a.nr_maps)
				add(c, GISA_CHANGE_MAPS_DROPPED, GISA_COMPAT_LOSSY, "adapters",
				    img->adapters[k].a.id, k, img->adapters[k].a.nr_maps,
				    "the adapter's MAP list is dropped (CLASSIC does not keep "
				    "maps)");

	if (to_newest) {
		for (uint32_t k = 0; k < img->nr_routes; k++) {
			const struct gisa_adapter_route *ad = &img->routes[k].adapter;

			/* The kernel's arithmetic, wrapping included (§5.1 step 3). */
			if (!same_page(ad->summary_addr, ad->summary_addr + ad->summary_offset / 8))
				add(c, GISA_CHANGE_ROUTE_OUT_OF_PAGE, GISA_COMPAT_IMPOSSIBLE,
				    "routes", img->routes[k].gsi, k, ad->summary_addr,
				    "the route's summary bit lies outside its page; NEWEST "
				    "refuses the route");
			if (!same_page(ad->ind_addr, ad->ind_addr + ad->ind_offset / 8))
				add(c, GISA_CHANGE_ROUTE_OUT_OF_PAGE, GISA_COMPAT_IMPOSSIBLE,
				    "routes", img->routes[k].gsi, k, ad->ind_addr,
				    "the route's indicator bit lies outside its page; NEWEST "
				    "refuses the route");
		}
	}

	if (img->config.profile != dest->profile && img->config.nr_vcpus > 1)
		add(c, GISA_CHANGE_KICK_CURSOR, GISA_COMPAT_LOSSY, "kick_cursor", 0, 0,
		    img->fl.kick_cursor,
		    "the kick cursor keeps its value but the kick policy changes "
		    "(round robin vs. last sleeping vcpu)");
}

static const char *const verdict_names[] = {
	[GISA_COMPAT_EXACT] = "exact",
	[GISA_COMPAT_LOSSY] = "lossy",
	[GISA_COMPAT_IMPOSSIBLE] = "impossible",
};

static const char *const kind_names[] = {
	[GISA_CHANGE_IPM_TO_LIST] = "ipm-to-list",
	[GISA_CHANGE_AI_TO_IPM] = "ai-to-ipm",
	[GISA_CHANGE_MAPS_DROPPED] = "maps-dropped",
	[GISA_CHANGE_KICK_CURSOR] = "kick-cursor",
	[GISA_CHANGE_AIS_FACILITY] = "ais-facility",
	[GISA_CHANGE_AIS_MODE] = "ais-mode",
	[GISA_CHANGE_GISA_REGISTRATION] = "gisa-registration",
	[GISA_CHANGE_GISA_IAM] = "gisa-iam",
	[GISA_CHANGE_GISA_ALERT_LIST] = "gisa-alert-list",
	[GISA_CHANGE_GISA_TIMER] = "gisa-timer",
	[GISA_CHANGE_IO_LIMIT] = "io-limit",
	[GISA_CHANGE_ROUTE_OUT_OF_PAGE] = "route-out-of-page",
};

const char *gisa_compat_verdict_name(enum gisa_compat_verdict v)
{
	if ((unsigned)v >= sizeof(verdict_names) / sizeof(verdict_names[0]))
		return "unknown";
	return verdict_names[v];
}

const char *gisa_compat_kind_name(enum gisa_compat_kind k)
{
	if ((unsigned)k >= sizeof(kind_names) / sizeof(kind_names[0]) || !kind_names[k])
		return "unknown";
	return kind_names[k];
}

void gisa_compat_report_release(struct gisa_compat_report *r)
{
	free(r->changes);
	memset(r, 0, sizeof(*r));
}

int gisa_compat_check(const struct gisa_image *img, const struct gisa_compat_dest *dest,
		      struct gisa_compat_report *ret)
{
	struct changes c = { 0 };
	struct gisa_compat_report rep = { .verdict = GISA_COMPAT_EXACT };

	if (dest->profile != GISA_PROFILE_CLASSIC && dest->profile != GISA_PROFILE_NEWEST)
		return -EINVAL;
	if (dest->caps & ~GISA_CAP_ALL)
		return -EINVAL;
	if (gisa_image_check(img, NULL))
		return -EINVAL;
	walk(img, dest, &c);
	if (c.err) {
		free(c.v);
		return c.err;
	}
	for (size_t i = 0; i < c.n; i++) {
		if (c.v[i].severity > rep.verdict)
			rep.verdict = c.v[i].severity;
		if (c.v[i].severity == GISA_COMPAT_IMPOSSIBLE && !rep.reason)
			rep.reason = c.v[i].what;
	}
	rep.nr_changes = c.n;
	rep.changes = c.v;
	*ret = rep;
	return 0;
}

/* ISC list i gains the AI records of IPM bit i at its front (IPM_TO_LIST). */
static int ipm_to_lists(struct gisa_image *img, uint8_t ipm)
{
	for (unsigned i = 0; i <= GISA_MAX_ISC; i++) {
		struct gisa_image_list *l = &img->lists[i];
		struct gisa_list_entry *e;

		if (!(ipm & GISA_ISC_BIT(i)))
			continue;
		e = calloc((size_t)l->n + 1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e[0].type = GISA_INT_IO_AI_MASK;
		e[0].u.io.io_int_word = GISA_IO_WORD_AI | (uint32_t)i << 27;
		if (l->n)
			memcpy(e + 1, l->e, l->n * sizeof(*e));
		free(l->e);
		l->e = e;
		l->n++;
	}
	return 0;
}

/* AI entries leave their ISC list; the ISC's IPM bit is set (AI_TO_IPM). */
static uint8_t ai_to_ipm(struct gisa_image *img)
{
	uint8_t ipm = 0;

	for (unsigned i = 0; i <= GISA_MAX_ISC; i++) {
		struct gisa_image_list *l = &img->lists[i];
		uint32_t k = 0;

		for (uint32_t j = 0; j < l->n; j++) {
			if (is_ai_entry(&l->e[j]))
				ipm |= GISA_ISC_BIT(i);
			else
				l->e[k++] = l->e[j];
		}
		l->n = k;
	}
	return ipm;
}

int gisa_compat_convert(const struct gisa_image *img, const struct gisa_compat_dest *dest,
			struct gisa_image **ret, struct gisa_compat_report *report)
{
	struct gisa_compat_report rep;
	struct gisa_image *out = NULL;
	bool src_gisa, dst_gisa;
	int r;

	r = gisa_compat_check(img, dest, &rep);
	if (r)
		return r;
	if (rep.verdict == GISA_COMPAT_IMPOSSIBLE) {
		r = -EOPNOTSUPP;
		goto out;
	}
	r = gisa_image_dup(img, &out);
	if (r)
		goto out;

	src_gisa = img->config.caps & GISA_CAP_GISA;
	dst_gisa = dest->caps & GISA_CAP_GISA;
	out->config.profile = dest->profile;
	out->config.caps = (img->config.caps & GISA_CAP_AIS) | (dest->caps & GISA_CAP_GISA);
	if (src_gisa && !dst_gisa) {
		/* Registrations, IAM, alert list and timer are all zero (else IMPOSSIBLE). */
		r = ipm_to_lists(out, img->gisa.ipm);
		memset(&out->gisa, 0, sizeof(out->gisa));
	} else if (!src_gisa && dst_gisa) {
		memset(&out->gisa, 0, sizeof(out->gisa));
		out->gisa.present = true;
		out->gisa.ipm = ai_to_ipm(out);
	}
	if (!r && img->config.profile == GISA_PROFILE_NEWEST &&
	    dest->profile == GISA_PROFILE_CLASSIC) {
		for (uint32_t k = 0; k < out->nr_adapters; k++) {
			free(out->adapters[k].maps);
			out->adapters[k].maps = NULL;
			out->adapters[k].a.nr_maps = 0;
		}
	}
	if (r) {
		gisa_image_free(out);
		goto out;
	}
	*ret = out;
out:
	if (report && r != -ENOMEM)
		*report = rep;
	else
		gisa_compat_report_release(&rep);
	return r;
}
