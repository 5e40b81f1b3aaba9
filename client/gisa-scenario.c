/* SPDX-License-Identifier: MIT */
/*
 * gisa-scenario: run a scenario file (docs/SCENARIOS.md) against an
 * in-process engine.  All the work is in scenario.c, which gisactl shares.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gisa-scenario [--check] [--no-state] [--max-records N] FILE|-\n"
		"       gisa-scenario --ops\n"
		"\n"
		"  -c, --check          compare every result with its \"expect\"; exit 1 at\n"
		"                       the first mismatch, 2 at the first input error\n"
		"  -n, --no-state       do not print the final state\n"
		"  -m, --max-records N  records printed per floating list in states (256)\n"
		"      --ops            list the operations and their members\n"
		"  -h, --help           this text\n"
		"\n"
		"exit status: 0 ok, 1 mismatch, 2 usage or input error\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, 'c' },
		{ "no-state", no_argument, NULL, 'n' },
		{ "max-records", required_argument, NULL, 'm' },
		{ "ops", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct scenario_options opt;
	const char *path;
	FILE *in;
	int c, status;

	scenario_options_init(&opt);
	while ((c = getopt_long(argc, argv, "cnm:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opt.check = true;
			break;
		case 'n':
			opt.final_state = false;
			break;
		case 'm': {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || optarg[0] == '-' || v > 1000000) {
				fprintf(stderr, "gisa-scenario: --max-records is not a number "
					"0..1000000: `%s'\n", optarg);
				return 2;
			}
			opt.max_records = v;
			break;
		}
		case 'o':
			scenario_print_ops(stdout);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	path = argv[optind];
	if (!strcmp(path, "-")) {
		in = stdin;
	} else {
		in = fopen(path, "r");
		if (!in) {
			fprintf(stderr, "gisa-scenario: cannot open `%s': %s\n", path,
				strerror(errno));
			return 2;
		}
	}
	status = scenario_run(in, path, &opt);
	if (in != stdin)
		fclose(in);
	return status;
}
