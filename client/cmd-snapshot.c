/* SPDX-License-Identifier: MIT */
/*
 * Offline snapshot commands: info, verify, decode, encode, digest, check.
 * Each reads the files named on its command line (bounded, files.c) and
 * works through the snapshot library; nothing here talks to gisad.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <gisa/compat.h>
#include <gisa/json.h>
#include <gisa/snapshot.h>

#include "gisactl.h"

/* ---- shared with cmd-convert.c and cmd-diff.c --------------------------- */

int snap_fail(struct gisactl *g, const char *path, int r, const struct gisa_snap_error *err)
{
	return out_fail(g, r, "`%s': %s", is_stdio(path) ? "-" : path,
			err->msg[0] ? err->msg : strerror(-r));
}

void fmt_restore_error(const struct gisa_restore_error *re, int r, char *buf, size_t size)
{
	if (re->field)
		snprintf(buf, size, "state.%s[%" PRIu64 "] = 0x%" PRIx64 ": expected %s",
			 re->field, re->index, re->value,
			 re->reason ? re->reason : "another value");
	else
		snprintf(buf, size, "%s", strerror(-r));
}

/* What each kind of refusal is, in the words of a message. */
static const char *json_errkind_phrase(enum gisa_json_errkind kind)
{
	switch (kind) {
	case GISA_JSON_ERR_SYNTAX:
		return "not JSON";
	case GISA_JSON_ERR_TOO_LONG:
		return "too long";
	case GISA_JSON_ERR_DUPLICATE:
		return "duplicate key";
	case GISA_JSON_ERR_SCHEMA:
		return "not schema " GISA_JSON_SCHEMA;
	case GISA_JSON_ERR_UNKNOWN:
		return "unknown member";
	case GISA_JSON_ERR_MISSING:
		return "missing member";
	case GISA_JSON_ERR_TYPE:
		return "wrong type";
	case GISA_JSON_ERR_RANGE:
		return "out of range";
	case GISA_JSON_ERR_LENGTH:
		return "wrong length";
	case GISA_JSON_ERR_IMAGE:
		return "a state the model refuses";
	case GISA_JSON_ERR_NONE:
		break;
	}
	return gisa_json_errkind_name(kind);
}

int json_fail(struct gisactl *g, const char *path, int r, const struct gisa_json_error *e)
{
	char where[64] = "", member[GISA_JSON_PATH_MAX + 4] = "";
	char value[GISA_JSON_VALUE_MAX + 16] = "";
	const char *sep = !e->expected[0] ? "" :
			  e->kind == GISA_JSON_ERR_SYNTAX ? ": " : ", expected ";

	if (r == -ENOMEM)
		return out_fail(g, r, "`%s': out of memory", path);
	if (e->line)
		snprintf(where, sizeof(where), " line %d column %d", e->line, e->column);
	if (e->path[0])
		snprintf(member, sizeof(member), "%s: ", e->path);
	if (e->value[0])
		snprintf(value, sizeof(value), " (value `%s')", e->value);
	return out_fail(g, r, "`%s'%s: %s%s%s%s%s", is_stdio(path) ? "-" : path, where, member,
			json_errkind_phrase(e->kind), value, sep, e->expected);
}

int load_image(struct gisactl *g, const char *path, struct gisa_image **ret,
	       struct gisa_snap_info *ret_info)
{
	struct gisa_snap_error err = { 0 };
	uint8_t *buf;
	size_t len;
	int r;

	r = read_snapshot(g, path, &buf, &len);
	if (r)
		return r;
	r = gisa_snap_decode(buf, len, ret, ret_info, &err);
	free(buf);
	return r ? snap_fail(g, path, r, &err) : 0;
}

void meta_from_info(const struct gisa_snap_info *in, struct gisa_json_meta *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", in->vm_name);
	m->has_uuid = in->has_uuid;
	memcpy(m->uuid, in->vm_uuid, sizeof(m->uuid));
	m->created_unix_ns = in->created_unix_ns;
	snprintf(m->producer, sizeof(m->producer), "%s", in->producer);
}

void snap_meta_from_json(const struct gisa_json_meta *m, struct gisa_snap_meta *s)
{
	s->vm_name = m->name[0] ? m->name : NULL;
	s->vm_uuid = m->has_uuid ? m->uuid : NULL;
	s->created_unix_ns = m->created_unix_ns;
	s->producer = m->producer[0] ? m->producer : NULL;
}

int parse_snap_opts(struct gisactl *g, const struct cmd_args *a, struct gisa_snap_opts *ret)
{
	unsigned long level = GISA_SNAP_DEFAULT_LEVEL;

	if (a->opt[OPT_LEVEL] && a->opt[OPT_STORED])
		return out_usage(g, "options `--level' and `--stored' exclude each other");
	if (a->opt[OPT_LEVEL] && parse_uint(g, "level", a->opt[OPT_LEVEL], 1, 22, &level))
		return GISACTL_EXIT_ERROR;
	ret->compress = !a->opt[OPT_STORED];
	ret->level = (int)level;
	return 0;
}

int binary_output_ok(struct gisactl *g, const char *out)
{
	if (g->json && is_stdio(out))
		return out_usage(g, "with --json the output needs a file: name it with -o");
	return 0;
}

int emit_json_text(struct gisactl *g, const char *out, const char *text, size_t len)
{
	json_t *r;

	if (!g->json || !is_stdio(out))
		return write_output(g, out, text, len, false);
	/* --json to standard output: the document travels inside gisactl's own. */
	r = out_result(g);
	jset(r, "document", json_loadb(text, len, 0, NULL));
	return 0;
}

void result_output(struct gisactl *g, const char *out, size_t len)
{
	json_t *r = out_result(g);

	jset(r, "output", is_stdio(out) ? json_null() : json_text(out));
	jset(r, "bytes", json_integer((json_int_t)len));
}

/* ---- snapshot info ------------------------------------------------------ */

int cmd_snapshot_info(struct gisactl *g, const struct cmd_args *a)
{
	struct gisa_snap_error err = { 0 };
	struct gisa_snap_info in;
	const char *path = a->argv[0];
	char hex[65], uuid[37], when[48], caps[32];
	bool zstd;
	uint8_t *buf;
	size_t len;
	int r;

	r = read_snapshot(g, path, &buf, &len);
	if (r)
		return r;
	r = gisa_snap_info(buf, len, &in, &err);
	free(buf);
	if (r)
		return snap_fail(g, path, r, &err);
	zstd = in.flags & GISA_SNAP_FLAG_ZSTD;
	gisa_snap_digest_hex(in.digest, hex);
	fmt_uuid(in.vm_uuid, uuid);
	fmt_time(in.created_unix_ns, when, sizeof(when));

	if (g->json) {
		json_t *o = out_result(g);

		jset(o, "file", json_text(path));
		jset(o, "file_len", json_integer((json_int_t)len));
		jset(o, "format_version", json_integer(in.format_version));
		jset(o, "min_reader_version", json_integer(in.min_reader_version));
		jset(o, "flags", json_integer(in.flags));
		jset(o, "compression", json_string(zstd ? "zstd" : "stored"));
		jset(o, "compression_level",
		     zstd && in.compression_level ? json_integer(in.compression_level) :
						    json_null());
		jset(o, "header_len", json_integer(in.header_len));
		jset(o, "state_len", json_integer((json_int_t)in.state_len));
		jset(o, "payload_len", json_integer((json_int_t)in.payload_len));
		jset(o, "stored_digest", json_string(hex));
		jset(o, "profile", json_string(profile_name(in.profile)));
		jset(o, "caps", json_caps(in.caps));
		jset(o, "vm_name", json_str_or_null(in.vm_name));
		jset(o, "vm_uuid", in.has_uuid ? json_string(uuid) : json_null());
		jset(o, "created", in.created_unix_ns ? json_string(when) : json_null());
		jset(o, "producer", json_str_or_null(in.producer));
		return GISACTL_EXIT_OK;
	}
	fmt_caps(in.caps, caps, sizeof(caps));
	out_kv("file", "%s (%zu bytes)", path, len);
	out_kv("format version", "%u", in.format_version);
	out_kv("min reader version", "%u", in.min_reader_version);
	out_kv("flags", "0x%x%s", in.flags, zstd ? " (zstd)" : "");
	if (zstd && in.compression_level)
		out_kv("compression", "zstd, level %d", in.compression_level);
	else
		out_kv("compression", "%s", zstd ? "zstd" : "stored");
	out_kv("header length", "%u bytes", in.header_len);
	out_kv("state length", "%" PRIu64 " bytes", in.state_len);
	out_kv("payload length", "%" PRIu64 " bytes", in.payload_len);
	out_kv("stored digest", "%s (unverified)", hex);
	out_kv("profile", "%s", profile_name(in.profile));
	out_kv("capabilities", "%s", caps);
	out_kv_text("vm name", in.vm_name[0] ? in.vm_name : "(none)");
	out_kv("vm uuid", "%s", in.has_uuid ? uuid : "(none)");
	out_kv("created", "%s", in.created_unix_ns ? when : "(none)");
	out_kv_text("producer", in.producer[0] ? in.producer : "(none)");
	return GISACTL_EXIT_OK;
}

/* ---- snapshot verify ---------------------------------------------------- */

int cmd_snapshot_verify(struct gisactl *g, const struct cmd_args *a)
{
	struct gisa_restore_error rerr = { 0 };
	struct gisa_snap_error err = { 0 };
	uint8_t digest[GISA_SNAP_DIGEST_SIZE];
	const char *path = a->argv[0];
	struct gisa_image *img = NULL;
	struct gisa_host *host = NULL;
	struct gisa_vm *vm = NULL;
	char msg[sizeof(err.msg) + 64] = "", hex[65] = "";
	uint8_t *buf;
	size_t len;
	int r;

	r = read_snapshot(g, path, &buf, &len);
	if (r)
		return r;
	r = gisa_snap_decode(buf, len, &img, NULL, &err);
	free(buf);
	if (r) {
		snprintf(msg, sizeof(msg), "%s", err.msg[0] ? err.msg : strerror(-r));
	} else {
		r = gisa_host_new(NULL, &host);
		if (!r)
			r = gisa_image_build_vm(img, host, &vm, &rerr);
		if (r)
			fmt_restore_error(&rerr, r, msg, sizeof(msg));
	}
	if (!r)
		r = gisa_snap_digest(img, digest);
	gisa_vm_free(vm);
	gisa_host_free(host);
	gisa_image_free(img);
	/* Running out of memory says nothing about the file. */
	if (r == -ENOMEM)
		return out_fail(g, r, "`%s': out of memory", path);
	if (!r)
		gisa_snap_digest_hex(digest, hex);

	if (g->json) {
		json_t *o = out_result(g), *e = json_null();

		if (r) {
			e = json_object();
			jset(e, "code", json_string(errno_code(r)));
			jset(e, "message", json_text(msg));
		}
		jset(o, "file", json_text(path));
		jset(o, "valid", json_boolean(!r));
		jset(o, "digest", r ? json_null() : json_string(hex));
		jset(o, "error", e);
	} else if (r) {
		printf("%s: invalid: %s\n", path, msg);
	} else {
		printf("%s: valid, state digest %s\n", path, hex);
	}
	return r ? GISACTL_EXIT_NEGATIVE : GISACTL_EXIT_OK;
}

/* ---- snapshot decode ---------------------------------------------------- */

int cmd_snapshot_decode(struct gisactl *g, const struct cmd_args *a)
{
	const char *path = a->argv[0], *out = a->opt[OPT_OUTPUT];
	struct gisa_image *img;
	struct gisa_snap_info in;
	struct gisa_json_meta meta;
	char *text;
	size_t len;
	int r;

	r = load_image(g, path, &img, &in);
	if (r)
		return r;
	if (g->json)
		jset(out_result(g), "file", json_text(path));
	meta_from_info(&in, &meta);
	r = gisa_json_from_image(img, &meta, a->opt[OPT_COMPACT] ? GISA_JSON_COMPACT :
								   GISA_JSON_PRETTY,
				 &text, &len);
	gisa_image_free(img);
	if (r)
		return out_fail(g, r, "`%s': cannot write the state as JSON: %s", path,
				strerror(-r));
	r = emit_json_text(g, out, text, len);
	free(text);
	if (r)
		return r;
	if (g->json && !is_stdio(out))
		result_output(g, out, len);
	return GISACTL_EXIT_OK;
}

/* ---- snapshot encode ---------------------------------------------------- */

int cmd_snapshot_encode(struct gisactl *g, const struct cmd_args *a)
{
	const char *path = a->argv[0], *out = a->opt[OPT_OUTPUT];
	struct gisa_json_error jerr = { 0 };
	struct gisa_snap_meta smeta = { 0 };
	struct gisa_snap_opts opts;
	struct gisa_json_meta meta;
	struct gisa_image *img;
	uint8_t digest[GISA_SNAP_DIGEST_SIZE], *text, *buf;
	char hex[65];
	size_t tlen, len;
	int r;

	r = parse_snap_opts(g, a, &opts);
	if (!r)
		r = binary_output_ok(g, out);
	if (!r)
		r = read_input(g, path, GISA_JSON_MAX_TEXT, "snapshot JSON text", &text, &tlen);
	if (r)
		return r;
	r = gisa_json_to_image((const char *)text, tlen, &img, &meta, &jerr);
	free(text);
	if (r)
		return json_fail(g, path, r, &jerr);
	snap_meta_from_json(&meta, &smeta);
	r = gisa_snap_encode(img, &smeta, &opts, &buf, &len);
	if (!r)
		r = gisa_snap_digest(img, digest);
	gisa_image_free(img);
	if (r)
		return out_fail(g, r, "`%s': cannot encode the snapshot: %s", path, strerror(-r));
	r = write_output(g, out, buf, len, true);
	free(buf);
	if (r)
		return r;
	if (g->json) {
		gisa_snap_digest_hex(digest, hex);
		jset(out_result(g), "file", json_text(path));
		result_output(g, out, len);
		jset(out_result(g), "digest", json_string(hex));
	}
	return GISACTL_EXIT_OK;
}

/* ---- snapshot digest ---------------------------------------------------- */

int cmd_snapshot_digest(struct gisactl *g, const struct cmd_args *a)
{
	uint8_t digest[GISA_SNAP_DIGEST_SIZE];
	const char *path = a->argv[0];
	struct gisa_snap_info in;
	struct gisa_image *img;
	char hex[65], stored[65];
	int r;

	r = load_image(g, path, &img, &in);
	if (r)
		return r;
	/*
	 * From the decoded state, as `vm digest' computes it from a VM: a
	 * newer writer's unknown fields are not in the image, so not in the
	 * digest either.
	 */
	r = gisa_snap_digest(img, digest);
	gisa_image_free(img);
	if (r)
		return out_fail(g, r, "`%s': cannot compute the digest: %s", path, strerror(-r));
	gisa_snap_digest_hex(digest, hex);
	if (g->json) {
		json_t *o = out_result(g);

		gisa_snap_digest_hex(in.digest, stored);
		jset(o, "file", json_text(path));
		jset(o, "digest", json_string(hex));
		jset(o, "stored_digest", json_string(stored));
		return GISACTL_EXIT_OK;
	}
	printf("%s\n", hex);
	return GISACTL_EXIT_OK;
}

/* ---- snapshot check ----------------------------------------------------- */

int cmd_snapshot_check(struct gisactl *g, const struct cmd_args *a)
{
	struct gisa_compat_report rep = { 0 };
	struct gisa_compat_dest dest;
	const char *path = a->argv[0];
	struct gisa_image *img;
	char target[32];
	int r;

	if (!a->opt[OPT_TARGET_CAPS])
		return out_usage(g, "option `--target-caps' is required");
	r = parse_target(g, "target-caps", a->opt[OPT_TARGET_CAPS], &dest);
	if (!r)
		r = load_image(g, path, &img, NULL);
	if (r)
		return r;
	r = gisa_compat_check(img, &dest, &rep);
	gisa_image_free(img);
	if (r)
		return out_fail(g, r, "`%s': cannot check: %s", path, strerror(-r));
	fmt_target(&dest, target, sizeof(target));

	if (g->json) {
		json_t *o = out_result(g), *t = json_object(), *list = json_array();

		jset(t, "profile", json_string(profile_name(dest.profile)));
		jset(t, "caps", json_caps(dest.caps));
		for (size_t i = 0; i < rep.nr_changes && list; i++) {
			const struct gisa_compat_change *c = &rep.changes[i];
			json_t *e = json_object();

			jset(e, "kind", json_string(gisa_compat_kind_name(c->kind)));
			jset(e, "severity", json_string(gisa_compat_verdict_name(c->severity)));
			jset(e, "section", json_string(c->section));
			jset(e, "key", json_integer(c->key));
			jset(e, "index", json_integer((json_int_t)c->index));
			jset(e, "value", json_hex64(c->value));
			jset(e, "what", json_string(c->what));
			if (!e || json_array_append_new(list, e))
				list = NULL;
		}
		jset(o, "file", json_text(path));
		jset(o, "target", t);
		jset(o, "verdict", json_string(gisa_compat_verdict_name(rep.verdict)));
		jset(o, "reason", json_str_or_null(rep.verdict == GISA_COMPAT_IMPOSSIBLE ?
						   rep.reason : NULL));
		jset(o, "changes", list);
	} else {
		out_kv("file", "%s", path);
		out_kv("target", "%s", target);
		out_kv("verdict", "%s", gisa_compat_verdict_name(rep.verdict));
		if (rep.verdict == GISA_COMPAT_IMPOSSIBLE)
			out_kv("reason", "%s", rep.reason);
		out_kv("changes", "%zu", rep.nr_changes);
		for (size_t i = 0; i < rep.nr_changes; i++) {
			const struct gisa_compat_change *c = &rep.changes[i];

			printf("  %-10s  %-17s  %-18s  key %-4u  index %-6" PRIu64
			       "  value 0x%" PRIx64 "\n      %s\n",
			       gisa_compat_verdict_name(c->severity),
			       gisa_compat_kind_name(c->kind), c->section, c->key, c->index,
			       c->value, c->what);
		}
	}
	r = rep.verdict == GISA_COMPAT_EXACT ? GISACTL_EXIT_OK :
	    rep.verdict == GISA_COMPAT_LOSSY ? GISACTL_EXIT_NEGATIVE : GISACTL_EXIT_ERROR;
	gisa_compat_report_release(&rep);
	return r;
}
