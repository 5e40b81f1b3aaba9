/* SPDX-License-Identifier: MIT */
/*
 * scenario run: the scenario runner (scenario.h, docs/SCENARIOS.md) on a
 * private engine host.  Its result lines are JSON already; with --json they
 * are gathered into one gisactl document instead of streamed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gisactl.h"
#include "scenario.h"

static const char *status_name(int status)
{
	switch (status) {
	case SCENARIO_EXIT_OK:
		return "ok";
	case SCENARIO_EXIT_MISMATCH:
		return "mismatch";
	}
	return "error";
}

/* The runner's output, one JSON object a line, into results and final. */
static int collect(struct gisactl *g, const char *text, size_t len, int status)
{
	json_t *o = out_result(g), *results = json_array(), *final = json_null();
	const char *p = text, *end = text + len;

	while (p < end && results) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *line = n ? json_loadb(p, n, 0, NULL) : NULL;

		if (n && !line)
			return out_fail(g, -EBADMSG, "the scenario runner wrote a line that is "
					"not JSON (out of memory?)");
		if (line && json_is_true(json_object_get(line, "final"))) {
			json_decref(final);
			final = line;
		} else if (line && json_array_append_new(results, line)) {
			results = NULL;
		}
		p += n + 1;
	}
	jset(o, "status", json_string(status_name(status)));
	jset(o, "exit", json_integer(status));
	jset(o, "results", results);
	jset(o, "final", final);
	return 0;
}

int cmd_scenario_run(struct gisactl *g, const struct cmd_args *a)
{
	const char *path = a->argv[0];
	struct scenario_options opt;
	unsigned long max = 0;
	char *text = NULL;
	size_t len = 0;
	FILE *in = stdin;
	int status, r;

	scenario_options_init(&opt);
	opt.check = a->opt[OPT_CHECK] != NULL;
	opt.final_state = !a->opt[OPT_NO_STATE];
	if (a->opt[OPT_MAX_RECORDS]) {
		r = parse_uint(g, "max-records", a->opt[OPT_MAX_RECORDS], 0, 1000000, &max);
		if (r)
			return r;
		opt.max_records = max;
	}
	if (!is_stdio(path)) {
		in = fopen(path, "r");
		if (!in)
			return out_fail(g, -errno, "cannot open `%s': %s", path, strerror(errno));
	}
	if (g->json) {
		opt.out = open_memstream(&text, &len);
		if (!opt.out) {
			if (in != stdin)
				fclose(in);
			return out_fail(g, -ENOMEM, "out of memory");
		}
	}
	status = scenario_run(in, path, &opt);
	if (in != stdin)
		fclose(in);
	if (g->json) {
		if (fclose(opt.out)) {
			free(text);
			return out_fail(g, -ENOMEM, "out of memory");
		}
		jset(out_result(g), "file", json_text(path));
		r = collect(g, text, len, status);
		free(text);
		if (r)
			return r;
	}
	return status;
}
