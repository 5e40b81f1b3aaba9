/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer targets in tests/fuzz/ (one file per decoder,
 * STYLE.md "a fuzzer per input surface").  Each target defines
 * LLVMFuzzerTestOneInput; it is linked either with libFuzzer (the campaign
 * build, tests/fuzz/run-campaign) or with replay.c (plain `meson test`,
 * suite "fuzz", over the committed corpus and regressions).
 *
 * Invariant failures call fuzz_fail(), which aborts: libFuzzer saves the
 * input, and the replay test fails.  Nothing else in a target may abort on
 * bad input.
 */
#ifndef GISA_FUZZ_H
#define GISA_FUZZ_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gisa/engine.h>
#include <gisa/image.h>
#include <gisa/restore.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_fail(...)                                                     \
	do {                                                               \
		fprintf(stderr, "fuzz invariant failed at %s:%d: ", __FILE__, \
			__LINE__);                                         \
		fprintf(stderr, __VA_ARGS__);                              \
		fputc('\n', stderr);                                       \
		abort();                                                   \
	} while (0)

#define fuzz_check(cond, ...)                                              \
	do {                                                               \
		if (!(cond))                                               \
			fuzz_fail(__VA_ARGS__);                            \
	} while (0)

/* A cursor over the input, for targets that take parameters from its start. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | fuzz_u8(in);
	return v;
}

/*
 * The daemon's decoding budget (daemon/control.c budget_alloc, which is
 * not in a library): protobuf-c allocations fail once more than `left`
 * bytes are live, so a message cannot make the decoder allocate without
 * bound.  Copied rather than linked; keep it in step with the daemon.
 */
struct fuzz_budget {
	size_t left;
	bool exceeded;
	size_t live;               /* allocations not yet freed (a leak check) */
};

static inline void *fuzz_budget_alloc(void *ctx, size_t size)
{
	struct fuzz_budget *b = ctx;
	size_t *p;

	if (size > b->left || size > SIZE_MAX - 16) {
		b->exceeded = true;
		return NULL;
	}
	p = malloc(size + 16);
	if (!p)
		return NULL;
	b->left -= size;
	b->live++;
	p[0] = size;
	return (char *)p + 16;
}

static inline void fuzz_budget_free(void *ctx, void *ptr)
{
	struct fuzz_budget *b = ctx;
	size_t *p;

	if (!ptr)
		return;
	p = (size_t *)(void *)((char *)ptr - 16);
	b->left += p[0];
	b->live--;
	free(p);
}

/* gisa_image_check with a throw-away error. */
static inline bool fuzz_image_ok(const struct gisa_image *img)
{
	struct gisa_restore_error err;

	return gisa_image_check(img, &err) == 0;
}

/*
 * The fixed base image of the delta target and its seeds: a classic VM
 * with GISA and AIS, two vcpus, a memslot with one written page and a few
 * floating interrupts.  NULL if the engine refuses (it should not).
 * variant 0 is the base; 1.. are modified copies (more interrupts, other
 * page contents), for the seed generator.
 */
static inline struct gisa_image *fuzz_base_image(unsigned variant)
{
	const struct gisa_vm_config cfg = {
		.profile = GISA_PROFILE_CLASSIC,
		.caps = GISA_CAP_ALL,
		.nr_vcpus = 2,
		.abi_order = GISA_BE,
	};
	struct gisa_host *host = NULL;
	struct gisa_vm *vm = NULL;
	struct gisa_image *img = NULL;
	uint8_t page[64];

	if (gisa_host_new(NULL, &host))
		return NULL;
	if (gisa_vm_new(host, &cfg, &vm))
		goto out;
	if (gisa_flic_create(vm) || gisa_mem_set_slot(vm, 0, 0, 1u << 20))
		goto out;
	memset(page, 0x5a, sizeof(page));
	page[0] = (uint8_t)variant;
	gisa_mem_write(vm, 0x3000, page, sizeof(page));
	gisa_vm_interrupt(vm, GISA_INT_SERVICE, 0x100, 0);
	gisa_vm_interrupt(vm, GISA_INT_VIRTIO, 0x0, 0x1234);
	gisa_vm_interrupt(vm, GISA_INT_IO(0, 0, 0, 1), 0x10002, 0x3000000);
	for (unsigned i = 0; i < variant * 3; i++)
		gisa_vm_interrupt(vm, GISA_INT_IO(0, 0, 0, 2 + i), 0x20000 + i,
				  (uint64_t)(i % 8) << 27);
	if (variant >= 2)
		gisa_mem_set_slot(vm, 1, 1u << 21, 1u << 16);
	gisa_image_from_vm(vm, &img);
out:
	gisa_vm_free(vm);
	gisa_host_free(host);
	return img;
}

#endif
