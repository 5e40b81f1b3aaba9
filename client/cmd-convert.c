/* SPDX-License-Identifier: MIT */
/*
 * snapshot convert: any of four forms to any other, through a VM image.
 *
 *   snapshot  a snapshot file (snapshot.h)
 *   json      its JSON document (json.h)
 *   kvm       a GET_ALL_IRQS buffer in either byte order, plus the two
 *             AISM_ALL bytes in a file of their own (--ais)
 *   qemu      the "irqs" field payload of QEMU's s390-flic section, plus the
 *             "s390-flic/ais" subsection payload (--qemu-ais)
 *
 * Reading a KVM or QEMU form runs the engine on a VM configured as the
 * destination (--target-caps, --vcpus), so what comes out is what that
 * destination would hold (convert.h).  Writing one keeps only what KVM can
 * express; what is dropped is named.  Every option is checked against the
 * two forms before any file is read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <gisa/convert.h>
#include <gisa/json.h>
#include <gisa/snapshot.h>

#include "files.h"
#include "gisactl.h"

enum form { FORM_SNAPSHOT, FORM_JSON, FORM_KVM, FORM_QEMU, FORM_NR };

static const char *const form_names[FORM_NR] = {
	[FORM_SNAPSHOT] = "snapshot",
	[FORM_JSON] = "json",
	[FORM_KVM] = "kvm",
	[FORM_QEMU] = "qemu",
};

/* Which options make sense for which forms: bits of (1 << form). */
static const struct {
	enum opt_id opt;
	unsigned from, to;      /* the option applies when from (or to) is one of these */
	const char *what;
} opt_forms[] = {
	{ OPT_ORDER, 1u << FORM_KVM, 1u << FORM_KVM, "a KVM buffer (kvm)" },
	{ OPT_AIS, 1u << FORM_KVM, 1u << FORM_KVM, "a KVM buffer (kvm)" },
	{ OPT_QEMU_AIS, 1u << FORM_QEMU, 1u << FORM_QEMU, "QEMU payloads (qemu)" },
	{ OPT_TARGET_CAPS, 1u << FORM_KVM | 1u << FORM_QEMU, 0, "reading kvm or qemu" },
	{ OPT_VCPUS, 1u << FORM_KVM | 1u << FORM_QEMU, 0, "reading kvm or qemu" },
	{ OPT_LEVEL, 0, 1u << FORM_SNAPSHOT, "writing a snapshot" },
	{ OPT_STORED, 0, 1u << FORM_SNAPSHOT, "writing a snapshot" },
	{ OPT_COMPACT, 0, 1u << FORM_JSON, "writing json" },
};

struct conv {
	enum form from, to;
	const char *in, *out;
	const char *ais_out;    /* --ais or --qemu-ais as an output; NULL if none */
	struct gisa_image *img;
	bool have_meta;
	struct gisa_json_meta meta;
	/* The KVM or QEMU side, for the summary. */
	size_t records;
	bool has_ais;
	struct gisa_ais_all ais;
	const char *dropped[8];
	unsigned nr_dropped;
};

static int parse_form(struct gisactl *g, const char *opt, const char *s, enum form *ret)
{
	if (!s)
		return out_usage(g, "option `--%s' is required", opt);
	for (unsigned f = 0; f < FORM_NR; f++) {
		if (!strcmp(s, form_names[f])) {
			*ret = (enum form)f;
			return 0;
		}
	}
	return out_usage(g, "option `--%s' takes kvm, qemu, snapshot or json, not `%s'", opt, s);
}

static int convert_fail(struct gisactl *g, const char *path, int r,
			const struct gisa_restore_error *re)
{
	if (r == -ENOMEM)
		return out_fail(g, r, "`%s': out of memory", path);
	if (re->field)
		return out_fail(g, r, "`%s': %s[%" PRIu64 "] = 0x%" PRIx64 ": expected %s (%s)",
				path, re->field, re->index, re->value,
				re->reason ? re->reason : "refused", strerror(-r));
	return out_fail(g, r, "`%s': %s", path, strerror(-r));
}

/* The AIS bytes file: exactly two bytes, simm then nimm. */
static int read_ais(struct gisactl *g, const char *path, struct gisa_ais_all *ret)
{
	uint8_t *buf;
	size_t len;
	int r;

	r = read_input(g, path, GISA_AIS_ALL_SIZE, "file of AIS bytes", &buf, &len);
	if (r)
		return r;
	if (len != GISA_AIS_ALL_SIZE) {
		free(buf);
		return out_fail(g, -EINVAL, "`%s' is %zu bytes; the AIS bytes are 2 (simm, nimm)",
				path, len);
	}
	gisa_ais_all_unpack(buf, ret);
	free(buf);
	return 0;
}

static int read_image(struct gisactl *g, const struct cmd_args *a, struct conv *c)
{
	struct gisa_restore_error rerr = { 0 };
	struct gisa_vm_config cfg = { 0 };
	enum gisa_byteorder order = GISA_BE;
	struct gisa_compat_dest dest;
	unsigned long vcpus = 0;
	uint8_t *buf = NULL, *ais = NULL;
	size_t len, ais_len = 0;
	int r;

	if (c->from == FORM_SNAPSHOT) {
		struct gisa_snap_info in;

		r = load_image(g, c->in, &c->img, &in);
		if (r)
			return r;
		meta_from_info(&in, &c->meta);
		c->have_meta = true;
		return 0;
	}
	if (c->from == FORM_JSON) {
		struct gisa_json_error jerr = { 0 };

		r = read_input(g, c->in, GISA_JSON_MAX_TEXT, "snapshot JSON text", &buf, &len);
		if (r)
			return r;
		r = gisa_json_to_image((const char *)buf, len, &c->img, &c->meta, &jerr);
		free(buf);
		if (r)
			return json_fail(g, c->in, r, &jerr);
		c->have_meta = true;
		return 0;
	}

	/* KVM or QEMU: the destination's configuration decides what the records become. */
	if (!a->opt[OPT_TARGET_CAPS])
		return out_usage(g, "--from %s needs --target-caps: the destination decides how "
				 "the records land", form_names[c->from]);
	r = parse_target(g, "target-caps", a->opt[OPT_TARGET_CAPS], &dest);
	if (!r && a->opt[OPT_VCPUS])
		r = parse_uint(g, "vcpus", a->opt[OPT_VCPUS], 0, GISA_MAX_VCPUS, &vcpus);
	if (r)
		return r;
	if (a->opt[OPT_ORDER] && !strcmp(a->opt[OPT_ORDER], "le"))
		order = GISA_LE;
	cfg.profile = dest.profile;
	cfg.caps = dest.caps;
	cfg.nr_vcpus = (uint32_t)vcpus;
	cfg.abi_order = order;

	if (c->from == FORM_KVM) {
		r = read_input(g, c->in, GISA_FLIC_MAX_BUFFER, "KVM FLIC buffer", &buf, &len);
		if (!r && a->opt[OPT_AIS])
			r = read_ais(g, a->opt[OPT_AIS], &c->ais);
		if (r) {
			free(buf);
			return r;
		}
		c->has_ais = a->opt[OPT_AIS] != NULL;
		r = gisa_kvm_to_image(buf, len, order, c->has_ais ? &c->ais : NULL, &cfg, &c->img,
				      &rerr);
		c->records = len / GISA_IRQ_SIZE;
	} else {
		r = read_input(g, c->in, GISA_QEMU_COUNT_SIZE + (size_t)GISA_KVM_MAX_RECORDS *
				   GISA_IRQ_SIZE, "QEMU irqs payload", &buf, &len);
		if (!r && a->opt[OPT_QEMU_AIS])
			r = read_input(g, a->opt[OPT_QEMU_AIS], GISA_AIS_ALL_SIZE,
				       "QEMU s390-flic/ais payload", &ais, &ais_len);
		if (r) {
			free(buf);
			return r;
		}
		c->has_ais = ais != NULL;
		if (ais && ais_len == GISA_AIS_ALL_SIZE)
			gisa_ais_all_unpack(ais, &c->ais);
		r = gisa_qemu_to_image(buf, len, ais, ais_len, &cfg, &c->img, &rerr);
		c->records = len >= GISA_QEMU_COUNT_SIZE ? (len - GISA_QEMU_COUNT_SIZE) /
							   GISA_IRQ_SIZE : 0;
	}
	free(buf);
	free(ais);
	if (r)
		return convert_fail(g, rerr.field && !strcmp(rerr.field, "ais") ?
				       (c->from == FORM_KVM ? a->opt[OPT_AIS] :
							      a->opt[OPT_QEMU_AIS]) : c->in,
				    r, &rerr);
	return 0;
}

/* What an image holds that the KVM form cannot carry. */
static void list_dropped(struct conv *c)
{
	const struct gisa_image *img = c->img;
	const struct gisa_state_gisa *gs = &img->gisa;
	bool vcpus = false, gisa = gs->iam || gs->alert_mask || gs->on_alert_list ||
				  gs->timer_armed;

	for (unsigned i = 0; i <= GISA_MAX_ISC; i++)
		gisa |= gs->refcount[i] != 0;
	for (uint32_t i = 0; i < img->nr_vcpus; i++) {
		const struct gisa_vcpu_state *v = &img->vcpus[i];

		vcpus |= v->psw_mask || v->cr0 || v->cr6 || v->cr14 || v->run || v->kicked;
	}
	if (img->nr_adapters)
		c->dropped[c->nr_dropped++] = "adapters";
	if (img->nr_routes)
		c->dropped[c->nr_dropped++] = "routes";
	if (img->nr_memslots)
		c->dropped[c->nr_dropped++] = "memslots";
	if (img->nr_pages)
		c->dropped[c->nr_dropped++] = "pages";
	if (vcpus)
		c->dropped[c->nr_dropped++] = "vcpus";
	if (gisa)
		c->dropped[c->nr_dropped++] = "gisa";
	if (img->fl.kick_cursor)
		c->dropped[c->nr_dropped++] = "kick_cursor";
}

/*
 * The records to out and, if ais_path, the two AIS bytes to it: both are
 * staged before either replaces its file, so that a failure (an AIS file in
 * a missing directory) leaves both as they were.
 */
static int write_pair(struct gisactl *g, const char *out, const void *buf, size_t len,
		      const char *ais_path, const uint8_t ais[GISA_AIS_ALL_SIZE])
{
	struct staged_output o[2];
	int r;

	r = output_stage(g, &o[0], out, buf, len, true);
	if (r)
		return r;
	if (!ais_path)
		return output_commit(g, o, 1);
	r = output_stage(g, &o[1], ais_path, ais, GISA_AIS_ALL_SIZE, true);
	if (r) {
		output_discard(&o[0]);
		return r;
	}
	return output_commit(g, o, 2);
}

/*
 * The AIS output (--ais, --qemu-ais) and -o are two files: neither may be
 * standard output under --json (it carries the document), they cannot
 * share it, and one file for both would keep only the last written.
 */
static int ais_output_ok(struct gisactl *g, const char *out, enum opt_id id, const char *ais)
{
	const char *name = opt_defs[id].name;

	if (!ais)
		return 0;
	if (g->json && is_stdio(ais))
		return out_usage(g, "with --json option `--%s' needs a file, not standard output, "
				 "which carries the JSON document", name);
	if (is_stdio(out) && is_stdio(ais))
		return out_usage(g, "options `-o' and `--%s' both name standard output (where -o "
				 "writes by default): name a file for one of them", name);
	if (is_stdio(out) || is_stdio(ais) || !output_same_file(out, ais))
		return 0;
	if (!strcmp(out, ais))
		return out_usage(g, "options `-o' and `--%s' both name `%s': each output needs "
				 "a file of its own", name, out);
	return out_usage(g, "options `-o' (`%s') and `--%s' (`%s') name the same file: each "
			 "output needs a file of its own", out, name, ais);
}

static int write_image(struct gisactl *g, const struct cmd_args *a, struct conv *c)
{
	struct gisa_restore_error rerr = { 0 };
	int r;

	if (c->to == FORM_SNAPSHOT) {
		struct gisa_snap_meta smeta = { 0 };
		struct gisa_snap_opts opts;
		uint8_t *buf;
		size_t len;

		r = parse_snap_opts(g, a, &opts);
		if (r)
			return r;
		snap_meta_from_json(&c->meta, &smeta);
		r = gisa_snap_encode(c->img, c->have_meta ? &smeta : NULL, &opts, &buf, &len);
		if (r)
			return out_fail(g, r, "`%s': cannot encode the snapshot: %s", c->in,
					strerror(-r));
		r = write_output(g, c->out, buf, len, true);
		free(buf);
		return r;
	}
	if (c->to == FORM_JSON) {
		char *text;
		size_t len;

		r = gisa_json_from_image(c->img, c->have_meta ? &c->meta : NULL,
					 a->opt[OPT_COMPACT] ? GISA_JSON_COMPACT : GISA_JSON_PRETTY,
					 &text, &len);
		if (r)
			return out_fail(g, r, "`%s': cannot write the state as JSON: %s", c->in,
					strerror(-r));
		r = emit_json_text(g, c->out, text, len);
		free(text);
		return r;
	}

	list_dropped(c);
	if (c->to == FORM_KVM) {
		struct gisa_kvm_flic k = { 0 };
		enum gisa_byteorder order = c->img->config.abi_order;

		if (a->opt[OPT_ORDER])
			order = strcmp(a->opt[OPT_ORDER], "le") ? GISA_BE : GISA_LE;
		r = gisa_kvm_from_image(c->img, order, &k, &rerr);
		if (r)
			return convert_fail(g, c->in, r, &rerr);
		c->records = k.nr_irqs;
		c->has_ais = k.has_ais;
		c->ais = k.ais;
		if (k.has_ais && !a->opt[OPT_AIS])
			r = out_usage(g, "`%s': the VM has the AIS facility: name a file for its "
					 "AISM_ALL bytes with --ais", c->in);
		else if (!k.has_ais && a->opt[OPT_AIS])
			r = out_usage(g, "`%s': the VM has no AIS facility, so no AISM_ALL bytes "
					 "for --ais `%s'", c->in, a->opt[OPT_AIS]);
		if (!r) {
			uint8_t ais[GISA_AIS_ALL_SIZE];

			gisa_ais_all_pack(&k.ais, ais);
			r = write_pair(g, c->out, k.irqs, k.nr_irqs * GISA_IRQ_SIZE,
				       k.has_ais ? a->opt[OPT_AIS] : NULL, ais);
		}
		gisa_kvm_flic_release(&k);
		return r;
	}

	struct gisa_qemu_flic q = { 0 };

	r = gisa_qemu_from_image(c->img, &q, &rerr);
	if (r)
		return convert_fail(g, c->in, r, &rerr);
	c->records = (q.irqs_len - GISA_QEMU_COUNT_SIZE) / GISA_IRQ_SIZE;
	c->has_ais = q.has_ais;
	gisa_ais_all_unpack(q.ais, &c->ais);
	if (q.has_ais && !a->opt[OPT_QEMU_AIS])
		r = out_usage(g, "`%s': the VM has the AIS facility, so QEMU sends the "
				 "s390-flic/ais subsection: name a file for it with --qemu-ais",
			      c->in);
	else if (!q.has_ais && a->opt[OPT_QEMU_AIS])
		r = out_usage(g, "`%s': the VM has no AIS facility, so QEMU sends no "
				 "s390-flic/ais subsection for --qemu-ais `%s'", c->in,
			      a->opt[OPT_QEMU_AIS]);
	if (!r)
		r = write_pair(g, c->out, q.irqs, q.irqs_len,
			       q.has_ais ? a->opt[OPT_QEMU_AIS] : NULL, q.ais);
	gisa_qemu_flic_release(&q);
	return r;
}

static void summary(struct gisactl *g, const struct conv *c)
{
	bool raw = c->from >= FORM_KVM || c->to >= FORM_KVM;
	uint8_t digest[GISA_SNAP_DIGEST_SIZE];
	char hex[65] = "";

	if (!gisa_snap_digest(c->img, digest))
		gisa_snap_digest_hex(digest, hex);
	if (g->json) {
		json_t *o = out_result(g), *ais = json_null(), *dropped = json_array();
		json_t *doc = json_object_get(o, "document");

		/* The converted document, if it is here, goes last. */
		if (doc) {
			json_incref(doc);
			json_object_del(o, "document");
		}

		if (raw && c->has_ais) {
			ais = json_object();
			jset(ais, "simm", json_integer(c->ais.simm));
			jset(ais, "nimm", json_integer(c->ais.nimm));
		}
		for (unsigned i = 0; i < c->nr_dropped && dropped; i++)
			if (json_array_append_new(dropped, json_string(c->dropped[i])))
				dropped = NULL;
		jset(o, "from", json_string(form_names[c->from]));
		jset(o, "to", json_string(form_names[c->to]));
		jset(o, "input", json_text(c->in));
		if (c->to != FORM_JSON || !is_stdio(c->out))
			jset(o, "output", is_stdio(c->out) ? json_null() : json_text(c->out));
		jset(o, "records", raw ? json_integer((json_int_t)c->records) : json_null());
		jset(o, "ais", ais);
		jset(o, "dropped", dropped);
		jset(o, "digest", hex[0] ? json_string(hex) : json_null());
		if (doc)
			jset(o, "document", doc);
		return;
	}
	if (c->nr_dropped) {
		fprintf(stderr, "gisactl: note: the %s form has no place for", form_names[c->to]);
		for (unsigned i = 0; i < c->nr_dropped; i++)
			fprintf(stderr, "%s %s", i ? "," : "", c->dropped[i]);
		fprintf(stderr, " of `%s': they are not written\n", c->in);
	}
	/* The result itself may be on standard output: the summary goes there only if not. */
	if (is_stdio(c->out) || (c->ais_out && is_stdio(c->ais_out)))
		return;
	printf("%s (%s) -> %s (%s)", c->in, form_names[c->from], c->out, form_names[c->to]);
	if (raw)
		printf(": %zu records", c->records);
	if (raw && c->has_ais)
		printf(", simm 0x%02x nimm 0x%02x", c->ais.simm, c->ais.nimm);
	printf("\n");
	if (hex[0])
		out_kv("state digest", "%s", hex);
}

int cmd_snapshot_convert(struct gisactl *g, const struct cmd_args *a)
{
	struct conv c = { .in = a->argv[0], .out = a->opt[OPT_OUTPUT] };
	int r;

	r = parse_form(g, "from", a->opt[OPT_FROM], &c.from);
	if (!r)
		r = parse_form(g, "to", a->opt[OPT_TO], &c.to);
	if (r)
		return r;
	for (size_t i = 0; i < sizeof(opt_forms) / sizeof(opt_forms[0]); i++) {
		if (!a->opt[opt_forms[i].opt] || (opt_forms[i].from & 1u << c.from) ||
		    (opt_forms[i].to & 1u << c.to))
			continue;
		return out_usage(g, "option `--%s' applies to %s only",
				 opt_defs[opt_forms[i].opt].name, opt_forms[i].what);
	}
	if (a->opt[OPT_ORDER] && strcmp(a->opt[OPT_ORDER], "be") &&
	    strcmp(a->opt[OPT_ORDER], "le"))
		return out_usage(g, "option `--order' takes be or le, not `%s'", a->opt[OPT_ORDER]);
	if (c.from == FORM_KVM && c.to == FORM_KVM && a->opt[OPT_AIS])
		return out_usage(g, "option `--ais' names the input or the output, not both: "
				 "convert kvm to kvm without it, or through a snapshot");
	if (c.from == FORM_QEMU && c.to == FORM_QEMU && a->opt[OPT_QEMU_AIS])
		return out_usage(g, "option `--qemu-ais' names the input or the output, not both: "
				 "convert qemu to qemu without it, or through a snapshot");
	if (c.to != FORM_JSON) {
		/* The KVM and QEMU forms' second output: the AIS bytes. */
		enum opt_id ais = c.to == FORM_KVM ? OPT_AIS : OPT_QEMU_AIS;

		r = binary_output_ok(g, c.out);
		if (!r && c.to >= FORM_KVM) {
			c.ais_out = a->opt[ais];
			r = ais_output_ok(g, c.out, ais, c.ais_out);
		}
		if (r)
			return r;
	}
	if (c.to == FORM_SNAPSHOT) {
		struct gisa_snap_opts opts;

		r = parse_snap_opts(g, a, &opts);
		if (r)
			return r;
	}

	r = read_image(g, a, &c);
	if (!r && g->json)
		out_result(g);  /* before "document", which write_image may add */
	if (!r)
		r = write_image(g, a, &c);
	if (!r)
		summary(g, &c);
	gisa_image_free(c.img);
	return r;
}
