/* SPDX-License-Identifier: MIT */
/* Logging: one line per message on stderr, "<prio>text\n". */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static int cur_level = LOG_INFO;

static const char *const level_names[] = {
	[LOG_ERR] = "err",
	[LOG_WARNING] = "warning",
	[LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

int log_level_parse(const char *s)
{
	for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

const char *log_level_name(int level)
{
	if (level < LOG_ERR || level > LOG_DEBUG)
		return "?";
	return level_names[level];
}

void log_set_level(int level)
{
	cur_level = level;
}

int log_get_level(void)
{
	return cur_level;
}

void log_msg(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	size_t n;

	if (prio > cur_level)
		return;
	/* Format first so that one write carries the whole line. */
	n = (size_t)snprintf(line, sizeof(line), "<%d>", prio);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	n = strlen(line);
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
}
