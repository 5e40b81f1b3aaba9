/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpora of the fuzz targets from the project's own
 * encoders and golden files:
 *
 *   fuzz-make-seeds SRCDIR OUTDIR
 *
 * SRCDIR is the source tree (for the golden tests/data files), OUTDIR the corpus
 * root (tests/fuzz/corpus); each target's files go to OUTDIR/NAME/.  The
 * config seeds are written by hand (corpus/config/), not here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gisa/convert.h>
#include <gisa/delta.h>
#include <gisa/frame.h>
#include <gisa/json.h>
#include <gisa/snapshot.h>

#include "control.pb-c.h"
#include "fuzz.h"
#include "migration.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)data;
	(void)size;
	return 0;
}

static const char *out_root;

static void put(const char *target, const char *name, const void *a, size_t alen,
		const void *b, size_t blen)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_root, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", out_root, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(a, 1, alen, f) != alen || (blen && fwrite(b, 1, blen, f) != blen) ||
	    fclose(f)) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
	printf("%s: %zu bytes\n", path, alen + blen);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		fuzz_fail("cannot read %s", path);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		fuzz_fail("cannot read %s", path);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static const char *golden[] = { "v1-empty", "v1-newest-gisa-ais", "v1-typical", "v1-stored" };
#define NR_GOLDEN (sizeof(golden) / sizeof(golden[0]))

static void snapshot_json_convert(const char *src, struct gisa_image *imgs[NR_GOLDEN])
{
	for (size_t i = 0; i < NR_GOLDEN; i++) {
		char path[4096], name[64];
		struct gisa_snap_info info;
		struct gisa_snap_error err;
		struct gisa_json_meta meta = { 0 };
		uint8_t *buf;
		char *text;
		size_t len;

		snprintf(path, sizeof(path), "%s/tests/data/%s.gsnap", src, golden[i]);
		buf = slurp(path, &len);
		if (gisa_snap_decode(buf, len, &imgs[i], &info, &err))
			fuzz_fail("%s: %s", path, err.msg);
		snprintf(name, sizeof(name), "%s.gsnap", golden[i]);
		put("snapshot", name, buf, len, NULL, 0);
		free(buf);

		snprintf(meta.name, sizeof(meta.name), "%s", info.vm_name);
		meta.has_uuid = info.has_uuid;
		memcpy(meta.uuid, info.vm_uuid, 16);
		meta.created_unix_ns = info.created_unix_ns;
		snprintf(meta.producer, sizeof(meta.producer), "%s", info.producer);
		if (gisa_json_from_image(imgs[i], &meta, i == 1 ? GISA_JSON_PRETTY : GISA_JSON_COMPACT,
					 &text, &len))
			fuzz_fail("json of %s", golden[i]);
		snprintf(name, sizeof(name), "%s.json", golden[i]);
		put("json", name, text, len, NULL, 0);
		free(text);
	}
	for (size_t i = 0; i < NR_GOLDEN; i++) {
		const struct gisa_vm_config *c = &imgs[i]->config;
		uint8_t dst = (uint8_t)((c->profile == GISA_PROFILE_NEWEST) | (c->caps & 3) << 1 |
					(c->nr_vcpus & 7) << 3);
		struct gisa_restore_error err;
		struct gisa_kvm_flic k = { 0 };
		struct gisa_qemu_flic q = { 0 };
		uint8_t head[5];
		char name[64];

		if (c->nr_vcpus > 7)
			continue;
		for (int order = 0; order < 2; order++) {
			if (gisa_kvm_from_image(imgs[i], order ? GISA_LE : GISA_BE, &k, &err))
				fuzz_fail("kvm of %s", golden[i]);
			head[0] = (uint8_t)(order | (k.has_ais ? 4 : 0));
			head[1] = dst;
			head[2] = k.ais.simm;
			head[3] = k.ais.nimm;
			snprintf(name, sizeof(name), "kvm-%s-%s", order ? "le" : "be", golden[i]);
			put("convert", name, head, k.has_ais ? 4 : 2, k.irqs,
			    k.nr_irqs * GISA_IRQ_SIZE);
			gisa_kvm_flic_release(&k);
		}
		if (gisa_qemu_from_image(imgs[i], &q, &err))
			fuzz_fail("qemu of %s", golden[i]);
		head[0] = (uint8_t)(2 | (q.has_ais ? 4 : 0));
		head[1] = dst;
		head[2] = q.has_ais ? 2 : 0;
		head[3] = q.ais[0];
		head[4] = q.ais[1];
		snprintf(name, sizeof(name), "qemu-%s", golden[i]);
		put("convert", name, head, q.has_ais ? 5 : 3, q.irqs, q.irqs_len);
		gisa_qemu_flic_release(&q);
	}
}

static void delta(struct gisa_image *other)
{
	struct gisa_image *base = fuzz_base_image(0);
	struct gisa_image *to[4] = { fuzz_base_image(0), fuzz_base_image(1), fuzz_base_image(2),
				     other };
	uint8_t *bytes;
	size_t len;
	char name[32];

	for (int i = 0; i < 4; i++) {
		if (!base || !to[i] || gisa_delta_make(base, to[i], &bytes, &len))
			fuzz_fail("delta %d", i);
		snprintf(name, sizeof(name), "base-to-%d", i);
		put("delta", name, bytes, len, NULL, 0);
		free(bytes);
		if (i < 3)
			gisa_image_free(to[i]);
	}
	gisa_image_free(base);
}

static void frame(void)
{
	Gisa__V1__MigMessage m = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigHello h = GISA__V1__MIG_HELLO__INIT;
	static const uint8_t id[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct gisa_fbuf b = { 0 };
	struct gisa_chunker *c;
	uint8_t obj[700], msg[256];
	size_t n;
	int r;
	/* flags byte, piece sizes: see fuzz-frame.c */
	static const uint8_t whole[] = { 0x00 };
	static const uint8_t pieces[] = { 0x06, 1, 7, 200 };
	static const uint8_t small[] = { 0x03, 5 };

	for (size_t i = 0; i < sizeof(obj); i++)
		obj[i] = (uint8_t)(i * 7);
	m.has_version = true;
	m.version = 1;
	m.has_migration_id = true;
	m.migration_id.data = (uint8_t *)id;
	m.migration_id.len = 16;
	m.body_case = GISA__V1__MIG_MESSAGE__BODY_HELLO;
	m.hello = &h;
	h.has_min_version = h.has_max_version = true;
	h.min_version = h.max_version = 1;
	h.has_max_vms = true;
	h.max_vms = 8;
	n = gisa__v1__mig_message__pack(&m, msg);
	if (gisa_fbuf_put(&b, GISA_FRAME_MSG, msg, n))
		fuzz_fail("fbuf");
	if (gisa_chunker_new(1, obj, sizeof(obj), 256, &c))
		fuzz_fail("chunker");
	while ((r = gisa_fbuf_put_next(&b, c)) == 1)
		;
	if (r)
		fuzz_fail("chunker next");
	gisa_chunker_free(c);
	put("frame", "hello-object", whole, sizeof(whole), b.data, b.len);
	put("frame", "hello-object-pieces", pieces, sizeof(pieces), b.data, b.len);
	put("frame", "hello-object-small", small, sizeof(small), b.data, b.len);
	gisa_fbuf_clear(&b);
	if (gisa_fbuf_put(&b, GISA_FRAME_MSG, msg, n))
		fuzz_fail("fbuf");
	put("frame", "hello", whole, sizeof(whole), b.data, b.len);
	gisa_fbuf_release(&b);
}

static void control_put(const char *name, const Gisa__V1__Request *req)
{
	uint8_t buf[4096];
	size_t n = gisa__v1__request__get_packed_size(req);

	if (n > sizeof(buf))
		fuzz_fail("request too big");
	gisa__v1__request__pack(req, buf);
	put("control", name, buf, n, NULL, 0);
}

static void control(void)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__Ping ping = GISA__V1__PING__INIT;
	Gisa__V1__VmCreate vc = GISA__V1__VM_CREATE__INIT;
	Gisa__V1__MemslotSpec ms = GISA__V1__MEMSLOT_SPEC__INIT, *msp = &ms;
	Gisa__V1__BatchInject bi = GISA__V1__BATCH_INJECT__INIT;
	Gisa__V1__MemWrite mw = GISA__V1__MEM_WRITE__INIT;
	static uint8_t uuid[16] = { 0xde, 0xad, 0xbe, 0xef };
	static uint8_t recs[2 * 72];
	static uint8_t data[32] = { 0x5a };

	req.has_version = req.has_id = true;
	req.version = 1;
	req.id = 42;
	req.verb_case = GISA__V1__REQUEST__VERB_PING;
	req.ping = &ping;
	control_put("ping", &req);

	vc.name = "vm0";
	vc.has_uuid = true;
	vc.uuid.data = uuid;
	vc.uuid.len = 16;
	vc.has_profile = vc.has_caps = vc.has_vcpus = true;
	vc.profile = 1;
	vc.caps = 3;
	vc.vcpus = 2;
	ms.has_slot = ms.has_gpa = ms.has_size = true;
	ms.size = 1 << 20;
	vc.n_memslots = 1;
	vc.memslots = &msp;
	req.verb_case = GISA__V1__REQUEST__VERB_VM_CREATE;
	req.vm_create = &vc;
	control_put("vm-create", &req);

	recs[3] = 0x01;
	recs[72] = 0xff;
	recs[73] = 0xff;
	recs[74] = 0x24;
	recs[75] = 0x01;
	bi.vm = "vm0";
	bi.has_records = true;
	bi.records.data = recs;
	bi.records.len = sizeof(recs);
	req.verb_case = GISA__V1__REQUEST__VERB_BATCH_INJECT;
	req.batch_inject = &bi;
	control_put("batch-inject", &req);

	mw.vm = "vm0";
	mw.has_gpa = mw.has_data = true;
	mw.gpa = 0x3000;
	mw.data.data = data;
	mw.data.len = sizeof(data);
	req.verb_case = GISA__V1__REQUEST__VERB_MEM_WRITE;
	req.mem_write = &mw;
	control_put("mem-write", &req);
}

int main(int argc, char **argv)
{
	struct gisa_image *imgs[NR_GOLDEN] = { 0 };

	if (argc != 3) {
		fprintf(stderr, "usage: %s SRCDIR OUTDIR\n", argv[0]);
		return 2;
	}
	out_root = argv[2];
	mkdir(out_root, 0755);
	snapshot_json_convert(argv[1], imgs);
	delta(imgs[1]);
	frame();
	control();
	for (size_t i = 0; i < NR_GOLDEN; i++)
		gisa_image_free(imgs[i]);
	return 0;
}
