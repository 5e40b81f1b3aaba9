/* SPDX-License-Identifier: MIT */
/*
 * The benchmarks' machine-readable rows: when GISA_BENCH_TABLE names a
 * file, every headline figure is appended to it as one tab-separated line
 *
 *   program figure value unit baseline baseline_value ratio goal verdict
 *
 * which bench/run turns into one table across all programs.  Absent
 * fields are "-": a figure without a baseline, a ratio that was not
 * computed (NaN), a figure without a goal.  A goal in parentheses is shown
 * for reference only (the program judges another state or compression),
 * but its verdict is still given.
 *
 * Each row is one write(2) to a descriptor opened with O_APPEND just for
 * it, so the rows already written survive a program that dies later, and
 * the programs bench/run starts one after the other only ever add lines.
 * The file is an aid to reading the figures, not a figure itself: a row
 * that cannot be written is reported on stderr and the run goes on.
 */
#ifndef GISA_BENCH_TABLE_H
#define GISA_BENCH_TABLE_H

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * A number as the rows carry it: 9 significant digits keep every figure's
 * precision (and integers below 10^9 exact) without printing float noise.
 */
static inline void bench_table_num(char *buf, size_t len, double x)
{
	if (isnan(x))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.9g", x);
}

/* A text field: NULL or empty is "-", and tabs or newlines would split the row. */
static inline void bench_table_text(char *buf, size_t len, const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		s = "-";
	for (; *s && n + 1 < len; s++)
		buf[n++] = *s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s;
	buf[n] = '\0';
}

/*
 * Append one row.  The figure's leading blanks (sub-row indentation in the
 * programs' own tables) are dropped.  baseline NULL leaves baseline_value
 * and ratio out too; pass NAN for a ratio the program does not compute.
 */
static inline void bench_table_row(const char *program, const char *figure, double value,
				   const char *unit, const char *baseline, double baseline_value,
				   double ratio, const char *goal, const char *verdict)
{
	const char *path = getenv("GISA_BENCH_TABLE");
	char f[9][160], line[9 * 160 + 16];
	int fd, n;
	ssize_t w;

	if (!path || !*path)
		return;
	if (figure)
		figure += strspn(figure, " ");
	bench_table_text(f[0], sizeof(f[0]), program);
	bench_table_text(f[1], sizeof(f[1]), figure);
	bench_table_num(f[2], sizeof(f[2]), value);
	bench_table_text(f[3], sizeof(f[3]), unit);
	bench_table_text(f[4], sizeof(f[4]), baseline);
	bench_table_num(f[5], sizeof(f[5]), baseline ? baseline_value : NAN);
	bench_table_num(f[6], sizeof(f[6]), baseline ? ratio : NAN);
	bench_table_text(f[7], sizeof(f[7]), goal);
	bench_table_text(f[8], sizeof(f[8]), verdict);
	n = snprintf(line, sizeof(line), "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f[0], f[1],
		     f[2], f[3], f[4], f[5], f[6], f[7], f[8]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;                 /* cannot happen: the fields are bounded above */

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "%s: GISA_BENCH_TABLE `%s': %s\n", f[0], path, strerror(errno));
		return;
	}
	do
		w = write(fd, line, (size_t)n);
	while (w < 0 && errno == EINTR);
	if (w != n)
		fprintf(stderr, "%s: GISA_BENCH_TABLE `%s': %s\n", f[0], path,
			w < 0 ? strerror(errno) : "short write");
	close(fd);
}

#endif /* GISA_BENCH_TABLE_H */
