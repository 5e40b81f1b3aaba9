/* SPDX-License-Identifier: MIT */
/*
 * diff A B: the semantic diff (diff.h) of two states, with diff(1)'s exit
 * statuses.  Each operand is turned into snapshot bytes first, so every
 * kind of operand is compared the same way, by gisa_snap_diff (which
 * decodes both, and compares the images only when their digests differ).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <gisa/diff.h>
#include <gisa/snapshot.h>

#include "gisactl.h"

#define VM_PREFIX "vm:"
#define REMOTE_PREFIX "tls://"

enum operand_kind {
	OPERAND_FILE,          /* a snapshot file */
	OPERAND_VM,            /* a VM of the local gisad */
	OPERAND_REMOTE,        /* a VM of another gisad, fetched by the local one */
};

struct operand {
	const char *text;      /* as typed */
	enum operand_kind kind;
	const char *name;      /* the file's path, the VM's name, or the remote URI */
	uint8_t *buf;          /* its state as a snapshot */
	size_t len;
};

/*
 * "vm:NAME" names a VM of the local gisad, "tls://HOST:PORT/NAME" a VM of
 * another gisad; anything else is a snapshot file (write "./vm:x" for a
 * file whose name starts with "vm:").  Both operands are checked before
 * either is loaded.
 */
static int parse_operand(struct gisactl *g, const char *s, struct operand *op)
{
	op->text = s;
	if (!strncmp(s, REMOTE_PREFIX, strlen(REMOTE_PREFIX))) {
		op->kind = OPERAND_REMOTE;
		op->name = s;
		return check_tls_uri(g, "a remote VM", s, true);
	}
	if (strncmp(s, VM_PREFIX, strlen(VM_PREFIX))) {
		op->kind = OPERAND_FILE;
		op->name = s;
		return 0;
	}
	op->kind = OPERAND_VM;
	op->name = s + strlen(VM_PREFIX);
	if (!*op->name)
		return out_usage(g, "`%s' names no VM: write vm:NAME", s);
	return 0;
}

/*
 * The operand's state as snapshot bytes.  A VM's state comes from gisad's
 * snapshot export over the control socket (--socket), or for a remote VM
 * from its remote fetch, into a temporary file that is unlinked at once
 * (cmd-store.c); then it is compared like a file.
 */
static int load_operand(struct gisactl *g, struct operand *op)
{
	switch (op->kind) {
	case OPERAND_VM:
		return vm_snapshot(g, op->name, &op->buf, &op->len);
	case OPERAND_REMOTE:
		return remote_snapshot(g, op->name, &op->buf, &op->len);
	case OPERAND_FILE:
		break;
	}
	return read_snapshot(g, op->name, &op->buf, &op->len);
}

/* gisa_snap_diff does not say which file it refused: ask each alone. */
static int blame(struct gisactl *g, int r, const struct operand *a, const struct operand *b)
{
	const struct operand *ops[2] = { a, b };

	for (unsigned i = 0; i < 2; i++) {
		struct gisa_snap_error err = { 0 };
		struct gisa_image *img = NULL;
		int e = gisa_snap_decode(ops[i]->buf, ops[i]->len, &img, NULL, &err);

		gisa_image_free(img);
		if (e)
			return snap_fail(g, ops[i]->text, e, &err);
	}
	return out_fail(g, r, "cannot compare `%s' and `%s': %s", a->text, b->text,
			strerror(-r));
}

static json_t *json_entry(const struct gisa_diff_entry *e)
{
	json_t *o = json_object();

	jset(o, "section", json_string(gisa_diff_section_name(e->section)));
	jset(o, "kind", json_string(gisa_diff_kind_name(e->kind)));
	jset(o, "key", json_hex64(e->key));
	jset(o, "pos_a", e->pos_a < 0 ? json_null() : json_integer(e->pos_a));
	jset(o, "pos_b", e->pos_b < 0 ? json_null() : json_integer(e->pos_b));
	jset(o, "path", json_string(e->path));
	jset(o, "a", e->a ? json_string(e->a) : json_null());
	jset(o, "b", e->b ? json_string(e->b) : json_null());
	return o;
}

static void print_human(const struct gisa_diff *d, const struct operand *a,
			const struct operand *b)
{
	uint64_t total = gisa_diff_total(d);
	size_t kept = gisa_diff_count(d);
	int section = -1;

	printf("--- %s\n+++ %s\n", a->text, b->text);
	for (size_t i = 0; i < kept; i++) {
		const struct gisa_diff_entry *e = gisa_diff_entry(d, i);

		if ((int)e->section != section) {
			uint64_t n = gisa_diff_section_total(d, e->section);

			section = (int)e->section;
			printf("%s: %" PRIu64 " difference%s\n", gisa_diff_section_name(e->section),
			       n, n == 1 ? "" : "s");
		}
		printf("  %-8s %s: ", gisa_diff_kind_name(e->kind), e->path);
		if (e->a && e->b)
			printf("%s -> %s\n", e->a, e->b);
		else
			printf("%s\n", e->a ? e->a : e->b ? e->b : "");
	}
	printf("%" PRIu64 " difference%s", total, total == 1 ? "" : "s");
	if (total > kept)
		printf(" (the first %zu shown)", kept);
	printf("\n");
}

int cmd_diff(struct gisactl *g, const struct cmd_args *args)
{
	struct gisa_snap_error err = { 0 };
	struct operand a = { 0 }, b = { 0 };
	struct gisa_diff *d = NULL;
	uint64_t total;
	int r;

	r = parse_operand(g, args->argv[0], &a);
	if (!r)
		r = parse_operand(g, args->argv[1], &b);
	if (!r)
		r = load_operand(g, &a);
	if (!r)
		r = load_operand(g, &b);
	if (!r) {
		r = gisa_snap_diff(a.buf, a.len, b.buf, b.len, &d, &err);
		if (r)
			r = blame(g, r, &a, &b);
	}
	free(a.buf);
	free(b.buf);
	if (r)
		return r;

	total = gisa_diff_total(d);
	if (g->json) {
		json_t *o = out_result(g), *sections = json_array(), *entries = json_array();
		size_t kept = gisa_diff_count(d);

		for (unsigned s = 0; s < GISA_DIFF_NR_SECTIONS && sections; s++) {
			uint64_t n = gisa_diff_section_total(d, (enum gisa_diff_section)s);
			json_t *so;

			if (!n)
				continue;
			so = json_object();
			jset(so, "section", json_string(gisa_diff_section_name(s)));
			jset(so, "total", json_integer((json_int_t)n));
			if (!so || json_array_append_new(sections, so))
				sections = NULL;
		}
		for (size_t i = 0; i < kept && entries; i++)
			if (json_array_append_new(entries, json_entry(gisa_diff_entry(d, i))))
				entries = NULL;
		jset(o, "a", json_text(a.text));
		jset(o, "b", json_text(b.text));
		jset(o, "equal", json_boolean(!total));
		jset(o, "total", json_integer((json_int_t)total));
		jset(o, "truncated", json_boolean(total > kept));
		jset(o, "sections", sections);
		jset(o, "entries", entries);
	} else if (total) {
		print_human(d, &a, &b);
	}
	gisa_diff_free(d);
	return total ? GISACTL_EXIT_NEGATIVE : GISACTL_EXIT_OK;
}
