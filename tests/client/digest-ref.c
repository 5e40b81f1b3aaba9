/* SPDX-License-Identifier: MIT */
/*
 * digest-ref: the state digest the way `vm digest` computes it - from a
 * live VM, read as an image and hashed (gisa_image_from_vm, then
 * gisa_snap_digest) - for the client tests to hold `gisactl snapshot
 * digest` against.
 *
 *   digest-ref import FILE   build a VM from a snapshot file; print its digest
 *   digest-ref build OUT     build a VM through the engine API (FLIC, lists,
 *                            service, machine check, an adapter, a route
 *                            whose trigger writes guest memory, GISA
 *                            registration, vcpu states), write it as a
 *                            snapshot to OUT and print its digest
 *
 * Exit status 0, or 1 with a message naming the step that failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gisa/gisa.h>
#include <gisa/image.h>
#include <gisa/snapshot.h>

static int step(int r, int want, const char *what)
{
	if (r != want) {
		fprintf(stderr, "digest-ref: %s returned %d, expected %d\n", what, r, want);
		exit(1);
	}
	return r;
}

static void print_digest(const struct gisa_vm *vm)
{
	uint8_t d[GISA_SNAP_DIGEST_SIZE];
	struct gisa_image *img;
	char hex[65];

	step(gisa_image_from_vm(vm, &img), 0, "gisa_image_from_vm");
	step(gisa_snap_digest(img, d), 0, "gisa_snap_digest");
	gisa_image_free(img);
	gisa_snap_digest_hex(d, hex);
	printf("%s\n", hex);
}

static int cmd_import(const char *path)
{
	struct gisa_snap_error err = { 0 };
	struct gisa_host *host;
	struct gisa_vm *vm;
	static uint8_t buf[1u << 20];
	size_t len;
	FILE *f = fopen(path, "rb");

	if (!f) {
		fprintf(stderr, "digest-ref: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	step(gisa_host_new(NULL, &host), 0, "gisa_host_new");
	if (gisa_snap_import(buf, len, host, &vm, NULL, &err)) {
		fprintf(stderr, "digest-ref: %s: %s\n", path, err.msg);
		return 1;
	}
	print_digest(vm);
	gisa_vm_free(vm);
	gisa_host_free(host);
	return 0;
}

static int set_attr(struct gisa_vm *vm, uint32_t group, void *buf, size_t len)
{
	struct gisa_attr a = { .group = group, .addr = { .data = buf, .len = len } };

	return gisa_flic_set_attr(vm, &a);
}

static struct gisa_irq io(uint16_t id, uint16_t nr, uint32_t parm, unsigned isc)
{
	struct gisa_irq q = { .type = GISA_INT_IO(0, 0, 0, nr) };

	q.u.io.subchannel_id = id;
	q.u.io.subchannel_nr = nr;
	q.u.io.io_int_parm = parm;
	q.u.io.io_int_word = (uint32_t)isc << 27;
	return q;
}

static int cmd_build(const char *out)
{
	struct gisa_vm_config cfg = {
		.profile = GISA_PROFILE_CLASSIC,
		.caps = GISA_CAP_GISA | GISA_CAP_AIS,
		.nr_vcpus = 3,
		.abi_order = GISA_BE,
	};
	struct gisa_io_adapter ad = { .id = 4, .isc = 6, .maskable = 1, .swap = 0 };
	struct gisa_route_entry rt = {
		.gsi = 12,
		.type = GISA_IRQ_ROUTING_S390_ADAPTER,
		.adapter = { .ind_addr = 0x3000, .ind_offset = 9, .summary_addr = 0x4000,
			     .summary_offset = 2, .adapter_id = 4 },
	};
	struct gisa_vcpu_state vs = {
		.psw_mask = GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT,
		.cr0 = GISA_CR0_SERVICE,
		.cr6 = GISA_CR6_ISC(2),
		.run = GISA_VCPU_STOPPED,
	};
	struct gisa_irq q;
	struct gisa_snap_meta meta = { .vm_name = "digest-ref" };
	struct gisa_image *img;
	struct gisa_host *host;
	struct gisa_vm *vm;
	uint8_t b[GISA_IO_ADAPTER_SIZE], *file;
	size_t len;
	FILE *f;

	step(gisa_host_new(NULL, &host), 0, "gisa_host_new");
	step(gisa_vm_new(host, &cfg, &vm), 0, "gisa_vm_new");
	step(gisa_flic_create(vm), 0, "gisa_flic_create");
	step(gisa_mem_set_slot(vm, 0, 0, 1u << 20), 0, "gisa_mem_set_slot");
	q = io(0x1, 0x10, 0xa0, 2);
	step(gisa_vm_inject(vm, &q), 0, "inject io");
	q = io(0x1, 0x11, 0xa1, 2);
	step(gisa_vm_inject(vm, &q), 0, "inject io");
	q = io(0x2, 0x20, 0xb0, 7);
	step(gisa_vm_inject(vm, &q), 0, "inject io");
	q = (struct gisa_irq){ .type = GISA_INT_SERVICE };
	q.u.ext.ext_params = 0x2001;
	step(gisa_vm_inject(vm, &q), 0, "inject service");
	q = (struct gisa_irq){ .type = GISA_INT_VIRTIO };
	q.u.ext.ext_params = 0x5;
	q.u.ext.ext_params2 = 0x66;
	step(gisa_vm_inject(vm, &q), 0, "inject virtio");
	q = (struct gisa_irq){ .type = GISA_INT_MCHK };
	q.u.mchk.cr14 = GISA_CR14_CHANNEL_REPORT;
	q.u.mchk.mcic = 0x4000;
	step(gisa_vm_inject(vm, &q), 0, "inject machine check");
	gisa_io_adapter_pack(&ad, GISA_BE, b);
	step(set_attr(vm, GISA_FLIC_ADAPTER_REGISTER, b, sizeof(b)), 0, "adapter register");
	step(gisa_routes_set(vm, &rt, 1, 0), 0, "gisa_routes_set");
	step(gisa_route_trigger(vm, 12, 1), 1, "gisa_route_trigger");
	step(gisa_gisc_register(vm, 3), GISA_DEFAULT_NISC, "gisa_gisc_register");
	step(gisa_vcpu_set(vm, 1, &vs), 0, "gisa_vcpu_set");

	step(gisa_image_from_vm(vm, &img), 0, "gisa_image_from_vm");
	step(gisa_snap_encode(img, &meta, NULL, &file, &len), 0, "gisa_snap_encode");
	gisa_image_free(img);
	f = fopen(out, "wb");
	if (!f || fwrite(file, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "digest-ref: cannot write %s\n", out);
		return 1;
	}
	free(file);
	print_digest(vm);
	gisa_vm_free(vm);
	gisa_host_free(host);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "import"))
		return cmd_import(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "build"))
		return cmd_build(argv[2]);
	fprintf(stderr, "usage: digest-ref import FILE | digest-ref build OUT\n");
	return 2;
}
