/* SPDX-License-Identifier: MIT */
/*
 * Scenario runner: executes a file of engine operations, one JSON object per
 * line (docs/SCENARIOS.md), against an in-process engine and prints one JSON
 * result line per operation, then the complete state of every VM.
 *
 * The runner is a module so that it can serve both the gisa-scenario test
 * program and a gisactl subcommand: feed it lines from anywhere with
 * scenario_feed(), or hand it a stream with scenario_run().  Input is
 * untrusted: every length is capped before anything is allocated, and a bad
 * line produces an error result, never a crash.
 */
#ifndef GISA_SCENARIO_H
#define GISA_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit statuses of a run (also what scenario_finish() returns). */
#define SCENARIO_EXIT_OK        0   /* all lines ran (and, with check, matched) */
#define SCENARIO_EXIT_MISMATCH  1   /* check: a result differed from its expect */
#define SCENARIO_EXIT_INPUT     2   /* usage or input error, or the runner ran out of memory */

/* The longest input line, in bytes, without its newline. */
#define SCENARIO_MAX_LINE       (1u << 20)

struct scenario_options {
	bool check;            /* compare results with "expect", stop at the first mismatch */
	bool final_state;      /* print every VM's state after the last line */
	size_t max_records;    /* records printed per floating list in a state */
	FILE *out;             /* result lines */
	FILE *err;             /* diagnostics for humans */
};

struct scenario;

/* check off, final state on, 256 records per list, stdout and stderr. */
void scenario_options_init(struct scenario_options *opt);

/*
 * A runner with its own engine host.  name labels diagnostics (a file name).
 * Returns 0 or -ENOMEM (or the host's creation error).
 */
int scenario_new(const struct scenario_options *opt, const char *name, struct scenario **ret);

/*
 * Run one input line (without its newline; it need not be NUL-terminated).
 * lineno is reported in results.  Returns true while the runner wants more
 * lines, false once it has stopped (check mode after a mismatch or an input
 * error).
 */
bool scenario_feed(struct scenario *s, unsigned long lineno, const char *line, size_t len);

/* Print the final state (if asked for) and return the exit status. */
int scenario_finish(struct scenario *s);

/* Frees every VM and the host.  Accepts NULL; returns NULL. */
struct scenario *scenario_free(struct scenario *s);

/*
 * Read lines from in (capped at SCENARIO_MAX_LINE), feed them, finish and
 * free.  Returns the exit status.
 */
int scenario_run(FILE *in, const char *name, const struct scenario_options *opt);

/* One line per operation: its name, its members and what it does. */
void scenario_print_ops(FILE *f);

#endif
