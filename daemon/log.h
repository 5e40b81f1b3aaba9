/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr with sd-daemon priority prefixes ("<3>" ... "<7>"), so
 * that journald files each line under its priority; a terminal shows them
 * as they are.  Messages above the configured level are dropped.
 */
#ifndef GISAD_LOG_H
#define GISAD_LOG_H

#include <syslog.h>

/* Parse "err", "warning", "notice", "info" or "debug"; -1 if unknown. */
int log_level_parse(const char *s);
const char *log_level_name(int level);

void log_set_level(int level);
int log_get_level(void);

void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)     log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
