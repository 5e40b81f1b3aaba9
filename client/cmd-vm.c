/* SPDX-License-Identifier: MIT */
/*
 * Online commands about the daemon and its VMs: ping, host info, vm
 * create, destroy, list, info and digest.  Each is one request (ctl.c);
 * gisad decides, and its refusals are relayed as they are.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <gisa/engine.h>
#include <gisa/snapshot.h>

#include "ctl.h"

/* ---- ping, host info ---------------------------------------------------- */

static json_t *json_profiles(const uint32_t *p, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n && a; i++)
		if (json_array_append_new(a, json_string(profile_name(p[i]))))
			a = NULL;
	return a;
}

int cmd_ping(struct gisactl *g, const struct cmd_args *a)
{
	const Gisa__V1__Pong *p;
	ctl_response *resp = NULL;
	char caps[32], profiles[32] = "";
	int r = ctl_ping(g, &resp);

	if (r)
		goto out;
	p = resp->pong;
	if (g->json) {
		json_t *o = out_result(g);

		jset(o, "daemon", json_str_or_null(p->daemon));
		jset(o, "max_datagram", json_integer(p->max_datagram));
		jset(o, "max_reply", p->has_max_reply ? json_integer(p->max_reply) : json_null());
		jset(o, "profiles", json_profiles(p->profiles, p->n_profiles));
		jset(o, "caps", json_caps(p->caps));
		jset(o, "uptime_ns", json_integer((json_int_t)p->uptime_ns));
		goto out;
	}
	for (size_t i = 0; i < p->n_profiles; i++)
		snprintf(profiles + strlen(profiles), sizeof(profiles) - strlen(profiles), "%s%s",
			 i ? "," : "", profile_name(p->profiles[i]));
	fmt_caps(p->caps, caps, sizeof(caps));
	out_kv("daemon", "%s", p->daemon ? p->daemon : "(unknown)");
	out_kv("max datagram", "%u bytes", p->max_datagram);
	if (p->has_max_reply)
		out_kv("max reply", "%u bytes", p->max_reply);
	out_kv("profiles", "%s", profiles[0] ? profiles : "(none)");
	out_kv("capabilities", "%s", caps);
	out_kv("uptime", "%" PRIu64 ".%03" PRIu64 " s", p->uptime_ns / 1000000000u,
	       p->uptime_ns / 1000000u % 1000u);
out:
	ctl_free(resp);
	(void)a;
	return r;
}

static const char *alert_origin_name(unsigned o)
{
	static const char *const names[] = { "null", "none", "gisa" };

	return o < 3 ? names[o] : "unknown";
}

int cmd_host_info(struct gisactl *g, const struct cmd_args *a)
{
	const Gisa__V1__HostInfo *h;
	ctl_response *resp;
	int r;

	r = ctl_noargs(g, GISA__V1__REQUEST__VERB_HOST_INFO, &resp);
	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_HOST);
	if (r)
		goto out;
	h = resp->host;
	if (g->json) {
		json_t *o = out_result(g);

		jset(o, "nisc", json_integer(h->nisc));
		jset(o, "alert_origin", json_string(alert_origin_name(h->alert_origin)));
		jset(o, "alert_list_len", json_integer(h->alert_list_len));
		jset(o, "gal_interrupts", json_integer((json_int_t)h->gal_interrupts));
		jset(o, "nr_vms", json_integer(h->nr_vms));
		goto out;
	}
	out_kv("nisc", "%u", h->nisc);
	out_kv("alert origin", "%s", alert_origin_name(h->alert_origin));
	out_kv("alert list length", "%u", h->alert_list_len);
	out_kv("gal interrupts", "%" PRIu64, h->gal_interrupts);
	out_kv("vms", "%u", h->nr_vms);
out:
	ctl_free(resp);
	(void)a;
	return r;
}

/* ---- vm create ---------------------------------------------------------- */

static int parse_uuid(struct gisactl *g, const char *s, uint8_t out[16])
{
	size_t n = 0;

	for (const char *p = s; *p; p++) {
		int hi, lo;

		if (*p == '-' && (p - s == 8 || p - s == 13 || p - s == 18 || p - s == 23))
			continue;
		if (n == 16 || !p[1])
			goto bad;
		hi = p[0] >= '0' && p[0] <= '9' ? p[0] - '0' :
		     p[0] >= 'a' && p[0] <= 'f' ? p[0] - 'a' + 10 :
		     p[0] >= 'A' && p[0] <= 'F' ? p[0] - 'A' + 10 : -1;
		lo = p[1] >= '0' && p[1] <= '9' ? p[1] - '0' :
		     p[1] >= 'a' && p[1] <= 'f' ? p[1] - 'a' + 10 :
		     p[1] >= 'A' && p[1] <= 'F' ? p[1] - 'A' + 10 : -1;
		if (hi < 0 || lo < 0)
			goto bad;
		out[n++] = (uint8_t)(hi << 4 | lo);
		p++;
	}
	if (n == 16)
		return 0;
bad:
	return out_usage(g, "option `--uuid' takes a UUID, "
			 "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (32 hex digits), not `%s'", s);
}

static int parse_profile(struct gisactl *g, const char *s, uint32_t *ret)
{
	if (!strcmp(s, "classic"))
		*ret = GISA_PROFILE_CLASSIC;
	else if (!strcmp(s, "newest"))
		*ret = GISA_PROFILE_NEWEST;
	else
		return out_usage(g, "option `--profile' takes classic or newest, not `%s'", s);
	return 0;
}

static int parse_caps(struct gisactl *g, const char *s, uint32_t *ret)
{
	uint32_t caps = 0;
	const char *p = s;

	if (!strcmp(s, "none")) {
		*ret = 0;
		return 0;
	}
	for (;;) {
		size_t n = strcspn(p, ",");
		uint32_t cap;

		if (n == 4 && !strncmp(p, "gisa", n))
			cap = GISA_CAP_GISA;
		else if (n == 3 && !strncmp(p, "ais", n))
			cap = GISA_CAP_AIS;
		else
			return out_usage(g, "option `--caps' takes gisa and/or ais, "
					 "comma-separated, or none: `%.*s' in `%s' is none of them",
					 (int)n, p, s);
		if (caps & cap)
			return out_usage(g, "option `--caps' names `%.*s' twice in `%s'", (int)n, p,
					 s);
		caps |= cap;
		if (!p[n])
			break;
		p += n + 1;
	}
	*ret = caps;
	return 0;
}

/* SLOT:GPA:SIZE */
static int parse_memslot(struct gisactl *g, const char *s, Gisa__V1__MemslotSpec *m)
{
	char buf[128], *f[3], *save = NULL;
	uint64_t slot, gpa, size;
	int n = 0;

	if (strlen(s) >= sizeof(buf))
		goto bad;
	strcpy(buf, s);
	for (char *t = strtok_r(buf, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
		if (n == 3)
			goto bad;
		f[n++] = t;
	}
	if (n != 3 || strchr(s, ':') == s || strstr(s, "::"))
		goto bad;
	if (arg_u64(g, "a memslot's SLOT", f[0], UINT32_MAX, &slot) ||
	    arg_u64(g, "a memslot's GPA", f[1], UINT64_MAX, &gpa) ||
	    arg_u64(g, "a memslot's SIZE", f[2], UINT64_MAX, &size))
		return GISACTL_EXIT_ERROR;
	m->has_slot = m->has_gpa = m->has_size = true;
	m->slot = (uint32_t)slot;
	m->gpa = gpa;
	m->size = size;
	return 0;
bad:
	return out_usage(g, "option `--memslot' takes SLOT:GPA:SIZE, not `%s'", s);
}

static json_t *json_memslot(const Gisa__V1__MemslotSpec *m)
{
	json_t *o = json_object();

	jset(o, "slot", json_integer(m->slot));
	jset(o, "gpa", json_hex64(m->gpa));
	jset(o, "size", json_hex64(m->size));
	return o;
}

static json_t *json_u32s(const uint32_t *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n && a; i++)
		if (json_array_append_new(a, json_integer(v[i])))
			a = NULL;
	return a;
}

/*
 * Where a migrating or migrated VM went: VmInfo does not say, its line of
 * vm_list does (migrated_to).  0 with *ret (NULL: none, else free it), or
 * an exit status.
 */
static int vm_destination(struct gisactl *g, const char *vm, char **ret)
{
	struct ctl_pager pg = { .verb = GISA__V1__REQUEST__VERB_VM_LIST };
	ctl_response *resp;
	int r = 0;

	*ret = NULL;
	while (!r && !*ret && !(r = ctl_pager_next(g, &pg, &resp)) && resp) {
		for (size_t i = 0; !r && i < resp->vm_list->n_vms; i++) {
			const Gisa__V1__VmSummary *v = resp->vm_list->vms[i];

			if (!v->name || strcmp(v->name, vm) || !v->migrated_to ||
			    !v->migrated_to[0])
				continue;
			*ret = strdup(v->migrated_to);
			if (!*ret)
				r = out_fail(g, -ENOMEM, "out of memory");
			break;
		}
		ctl_free(resp);
	}
	return r;
}

/* "outgoing to tls://b:7600", or just the state. */
static void fmt_migration(int state, const char *dest, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", migration_state_name(state), dest && *dest ? " to " : "",
		 dest && *dest ? dest : "");
}

/* The migration members: the state, and the destination only when there is one. */
static void json_migration_state(json_t *o, int state, const char *dest)
{
	jset(o, "migration", json_string(migration_state_name(state)));
	if (dest && *dest)
		jset(o, "migrated_to", json_text(dest));
}

static void info_json(struct gisactl *g, const Gisa__V1__VmInfo *v, const char *dest)
{
	const Gisa__V1__GisaInfo *gi = v->gisa;
	json_t *o = out_result(g), *slots = json_array(), *go = json_object();
	char uuid[37], hex[65];

	if (v->uuid.len == 16)
		fmt_uuid(v->uuid.data, uuid);
	jset(o, "vm", json_str_or_null(v->name));
	jset(o, "uuid", v->uuid.len == 16 ? json_string(uuid) : json_null());
	jset(o, "profile", json_string(profile_name(v->profile)));
	jset(o, "caps", json_caps(v->caps));
	jset(o, "vcpus", json_integer(v->vcpus));
	jset(o, "mem_cap", json_integer((json_int_t)v->mem_cap));
	jset(o, "mem_used", json_integer((json_int_t)v->mem_used));
	jset(o, "abi_order", json_string(order_name(v->abi_order)));
	jset(o, "flic_present", json_boolean(v->flic_present));
	jset(o, "apf_enabled", json_boolean(v->apf_enabled));
	jset(o, "pending_irqs", json_hex64(v->pending_irqs));
	jset(o, "list_len", json_u32s(v->list_len, v->n_list_len));
	jset(o, "srv_ext_params", json_hex64(v->srv_ext_params));
	jset(o, "mchk_cr14", json_hex64(v->mchk_cr14));
	jset(o, "mchk_mcic", json_hex64(v->mchk_mcic));
	jset(o, "simm", json_hex64(v->simm));
	jset(o, "nimm", json_hex64(v->nimm));
	if (gi) {
		jset(go, "present", json_boolean(gi->present));
		jset(go, "ipm", json_hex64(gi->ipm));
		jset(go, "iam", json_hex64(gi->iam));
		jset(go, "alert_mask", json_hex64(gi->alert_mask));
		jset(go, "refcount", json_u32s(gi->refcount, gi->n_refcount));
		jset(go, "on_alert_list", json_boolean(gi->on_alert_list));
		jset(go, "timer_armed", json_boolean(gi->timer_armed));
		jset(go, "timer_delay_ns", json_integer(gi->timer_delay_ns));
	}
	jset(o, "gisa", go);
	jset(o, "kick_cursor", json_integer(v->kick_cursor));
	jset(o, "adapter_mask", json_hex64(v->adapter_mask));
	jset(o, "nr_routes", json_integer(v->nr_routes));
	jset(o, "nr_memslots", json_integer(v->nr_memslots));
	for (size_t i = 0; i < v->n_memslots && slots; i++)
		if (json_array_append_new(slots, json_memslot(v->memslots[i])))
			slots = NULL;
	jset(o, "memslots", slots);
	jset(o, "events_dropped", json_integer((json_int_t)v->events_dropped));
	jset(o, "last_job", v->last_job ? json_integer((json_int_t)v->last_job) : json_null());
	json_migration_state(o, v->migration, dest);
	if (v->digest.len == GISA_SNAP_DIGEST_SIZE) {
		gisa_snap_digest_hex(v->digest.data, hex);
		jset(o, "digest", json_string(hex));
	} else {
		jset(o, "digest", json_null());
	}
}

static void info_human(const Gisa__V1__VmInfo *v, const char *dest)
{
	const Gisa__V1__GisaInfo *gi = v->gisa;
	char uuid[37] = "(none)", caps[32], hex[65] = "(none)", lists[160] = "", mig[320];

	if (v->uuid.len == 16)
		fmt_uuid(v->uuid.data, uuid);
	if (v->digest.len == GISA_SNAP_DIGEST_SIZE)
		gisa_snap_digest_hex(v->digest.data, hex);
	fmt_caps(v->caps, caps, sizeof(caps));
	for (size_t i = 0; i < v->n_list_len; i++)
		snprintf(lists + strlen(lists), sizeof(lists) - strlen(lists), "%s%u", i ? " " : "",
			 v->list_len[i]);
	out_kv("vm", "%s", v->name ? v->name : "");
	out_kv("uuid", "%s", uuid);
	out_kv("profile", "%s", profile_name(v->profile));
	out_kv("capabilities", "%s", caps);
	out_kv("vcpus", "%u", v->vcpus);
	out_kv("byte order", "%s", order_name(v->abi_order));
	out_kv("memory", "%" PRIu64 " of %" PRIu64 " bytes backed", v->mem_used, v->mem_cap);
	out_kv("flic", "%s", v->flic_present ? "present" : "absent");
	out_kv("apf", "%s", v->apf_enabled ? "enabled" : "disabled");
	out_kv("pending bits", "0x%08x", v->pending_irqs);
	out_kv("list lengths", "%s (isc 0-7, pfault-done, virtio)", lists);
	out_kv("service params", "0x%x", v->srv_ext_params);
	out_kv("mchk", "cr14 0x%" PRIx64 " mcic 0x%" PRIx64, v->mchk_cr14, v->mchk_mcic);
	out_kv("ais", "simm 0x%02x nimm 0x%02x", v->simm, v->nimm);
	if (gi && gi->present) {
		char refs[64] = "";

		for (size_t i = 0; i < gi->n_refcount; i++)
			snprintf(refs + strlen(refs), sizeof(refs) - strlen(refs), "%s%u",
				 i ? " " : "", gi->refcount[i]);
		out_kv("gisa", "ipm 0x%02x iam 0x%02x alert mask 0x%02x%s", gi->ipm, gi->iam,
		       gi->alert_mask, gi->on_alert_list ? ", on the alert list" : "");
		out_kv("gisc refcounts", "%s", refs);
		if (gi->timer_armed)
			out_kv("kicker timer", "armed, %u ns", gi->timer_delay_ns);
		else
			out_kv("kicker timer", "stopped");
	} else {
		out_kv("gisa", "absent");
	}
	out_kv("kick cursor", "%u", v->kick_cursor);
	out_kv("adapters", "mask 0x%" PRIx64, v->adapter_mask);
	out_kv("routes", "%u", v->nr_routes);
	out_kv("memslots", "%u", v->nr_memslots);
	for (size_t i = 0; i < v->n_memslots; i++)
		printf("  slot %-5u gpa 0x%-14" PRIx64 " size 0x%" PRIx64 "\n",
		       v->memslots[i]->slot, v->memslots[i]->gpa, v->memslots[i]->size);
	out_kv("events dropped", "%" PRIu64, v->events_dropped);
	if (v->last_job)
		out_kv("last job", "%" PRIu64, v->last_job);
	else
		out_kv("last job", "(none)");
	fmt_migration(v->migration, dest, mig, sizeof(mig));
	out_kv("migration", "%s", mig);
	out_kv("digest", "%s", hex);
}

static int show_info(struct gisactl *g, ctl_response *resp)
{
	const Gisa__V1__VmInfo *v;
	char *dest = NULL;
	int r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_VM_INFO);

	if (r)
		return r;
	v = resp->vm_info;
	if (v->migration != GISA__V1__MIGRATION_STATE__MIGRATION_STATE_NONE && v->name)
		r = vm_destination(g, v->name, &dest);
	if (r)
		return r;
	if (g->json)
		info_json(g, v, dest);
	else
		info_human(v, dest);
	free(dest);
	return 0;
}

int cmd_vm_create(struct gisactl *g, const struct cmd_args *a)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VmCreate c = GISA__V1__VM_CREATE__INIT;
	Gisa__V1__MemslotSpec *specs = NULL, **slots = NULL;
	int n = a->nlist[OPT_MEMSLOT], r = 0;
	ctl_response *resp = NULL;
	uint8_t uuid[16];
	unsigned long vcpus = 0;

	c.name = a->argv[0];
	if (a->opt[OPT_UUID]) {
		r = parse_uuid(g, a->opt[OPT_UUID], uuid);
		c.has_uuid = true;
		c.uuid.data = uuid;
		c.uuid.len = sizeof(uuid);
	}
	if (!r && a->opt[OPT_PROFILE]) {
		c.has_profile = true;
		r = parse_profile(g, a->opt[OPT_PROFILE], &c.profile);
	}
	if (!r && a->opt[OPT_CAPS]) {
		c.has_caps = true;
		r = parse_caps(g, a->opt[OPT_CAPS], &c.caps);
	}
	if (!r && a->opt[OPT_VCPUS]) {
		r = parse_uint(g, "vcpus", a->opt[OPT_VCPUS], 0, GISA_MAX_VCPUS, &vcpus);
		c.has_vcpus = true;
		c.vcpus = (uint32_t)vcpus;
	}
	if (!r && a->opt[OPT_MEM_CAP]) {
		c.has_mem_cap = true;
		r = arg_u64(g, "option `--mem-cap'", a->opt[OPT_MEM_CAP], UINT64_MAX, &c.mem_cap);
	}
	if (!r && a->opt[OPT_NO_FLIC]) {
		c.has_no_flic = true;
		c.no_flic = true;
	}
	if (!r && a->opt[OPT_ORDER]) {
		c.has_abi_order = true;
		if (!strcmp(a->opt[OPT_ORDER], "be"))
			c.abi_order = GISA_BE;
		else if (!strcmp(a->opt[OPT_ORDER], "le"))
			c.abi_order = GISA_LE;
		else
			r = out_usage(g, "option `--order' takes be or le, not `%s'",
				      a->opt[OPT_ORDER]);
	}
	if (!r && n) {
		specs = calloc((size_t)n, sizeof(*specs));
		slots = calloc((size_t)n, sizeof(Gisa__V1__MemslotSpec *));
		if (!specs || !slots)
			r = out_fail(g, -ENOMEM, "out of memory");
		for (int i = 0; !r && i < n; i++) {
			gisa__v1__memslot_spec__init(&specs[i]);
			slots[i] = &specs[i];
			r = parse_memslot(g, a->list[OPT_MEMSLOT][i], &specs[i]);
		}
		c.n_memslots = (size_t)n;
		c.memslots = slots;
	}
	if (!r) {
		req.verb_case = GISA__V1__REQUEST__VERB_VM_CREATE;
		req.vm_create = &c;
		r = ctl_call(g, &req, -1, &resp);
	}
	if (!r)
		r = show_info(g, resp);
	ctl_free(resp);
	free(specs);
	free(slots);
	return r;
}

/* ---- destroy, list, info, digest ---------------------------------------- */

int cmd_vm_destroy(struct gisactl *g, const struct cmd_args *a)
{
	ctl_response *resp;
	int r = ctl_vmref(g, GISA__V1__REQUEST__VERB_VM_DESTROY, a->argv[0], &resp);

	if (!r && g->json)
		jset(out_result(g), "vm", json_text(a->argv[0]));
	ctl_free(resp);
	return r;
}

/* One VM of vm list: a row, or an object appended to list (NULL once failed). */
static void vm_row(struct gisactl *g, const Gisa__V1__VmSummary *v, json_t **list)
{
	char uuid[37] = "(none)", caps[16], mig[320];

	if (v->uuid.len == 16)
		fmt_uuid(v->uuid.data, uuid);
	if (g->json) {
		json_t *o = json_object();

		jset(o, "name", json_str_or_null(v->name));
		jset(o, "uuid", json_string(uuid));
		/* A VM that migrated away has no configuration here. */
		jset(o, "profile", v->has_profile ? json_string(profile_name(v->profile)) :
						    json_null());
		jset(o, "caps", v->has_caps ? json_caps(v->caps) : json_null());
		jset(o, "vcpus", v->has_vcpus ? json_integer(v->vcpus) : json_null());
		json_migration_state(o, v->migration, v->migrated_to);
		if (!*list || !o || json_array_append_new(*list, o))
			*list = NULL;
		return;
	}
	snprintf(caps, sizeof(caps), "%s%s%s", v->caps & GISA_CAP_GISA ? "gisa" : "",
		 (v->caps & GISA_CAP_ALL) == GISA_CAP_ALL ? "," : "",
		 v->caps & GISA_CAP_AIS ? "ais" : v->caps & GISA_CAP_GISA ? "" : "none");
	fmt_migration(v->migration, v->migrated_to, mig, sizeof(mig));
	if (!v->has_profile) {
		printf("%-24s %-36s %-8s %-9s %5s  %s\n", v->name ? v->name : "", uuid, "-", "-",
		       "-", mig);
		return;
	}
	printf("%-24s %-36s %-8s %-9s %5u  %s\n", v->name ? v->name : "", uuid,
	       profile_name(v->profile), caps, v->vcpus, mig);
}

int cmd_vm_list(struct gisactl *g, const struct cmd_args *a)
{
	struct ctl_pager pg = { .verb = GISA__V1__REQUEST__VERB_VM_LIST };
	json_t *list = g->json ? json_array() : NULL;
	bool header = false;
	ctl_response *resp;
	int r;

	while (!(r = ctl_pager_next(g, &pg, &resp)) && resp) {
		const Gisa__V1__VmList *l = resp->vm_list;

		if (!g->json && l->n_vms && !header) {
			printf("%-24s %-36s %-8s %-9s %5s  %s\n", "NAME", "UUID", "PROFILE", "CAPS",
			       "VCPUS", "MIGRATION");
			header = true;
		}
		for (size_t i = 0; i < l->n_vms; i++)
			vm_row(g, l->vms[i], &list);
		ctl_free(resp);
	}
	if (!r && g->json)
		jset(out_result(g), "vms", list);
	else
		json_decref(list);
	(void)a;
	return r;
}

int cmd_vm_info(struct gisactl *g, const struct cmd_args *a)
{
	ctl_response *resp;
	int r = ctl_vmref(g, GISA__V1__REQUEST__VERB_VM_INFO, a->argv[0], &resp);

	if (!r)
		r = show_info(g, resp);
	ctl_free(resp);
	return r;
}

int cmd_vm_digest(struct gisactl *g, const struct cmd_args *a)
{
	ctl_response *resp;
	const Gisa__V1__Digest *d;
	char hex[65];
	int r = ctl_vmref(g, GISA__V1__REQUEST__VERB_VM_DIGEST, a->argv[0], &resp);

	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_DIGEST);
	if (!r && resp->digest->digest.len != GISA_SNAP_DIGEST_SIZE)
		r = out_fail(g, -EPROTO, "gisad sent a digest of %zu bytes, not %u",
			     resp->digest->digest.len, GISA_SNAP_DIGEST_SIZE);
	if (r)
		goto out;
	d = resp->digest;
	/* Formatted here, as `snapshot digest' formats its own, not copied. */
	gisa_snap_digest_hex(d->digest.data, hex);
	if (g->json) {
		json_t *o = out_result(g);

		jset(o, "vm", json_text(a->argv[0]));
		jset(o, "digest", json_string(hex));
	} else {
		printf("%s\n", hex);
	}
out:
	ctl_free(resp);
	return r;
}
