/* SPDX-License-Identifier: MIT */
/*
 * Online commands that move state: snapshot export and import, checkpoints
 * in gisad's state directory, a remote VM's snapshot (for diff), and jobs.
 *
 * Snapshot files never travel as paths: gisactl opens them and passes the
 * descriptor (SCM_RIGHTS).  gisad takes regular files only (a pipe could
 * block its one thread), so standard input and output, pipes and devices
 * are spooled through a temporary file that is unlinked at once.  An
 * export into a named file goes to a temporary file beside it first, which
 * replaces the file only once gisad reported success: a failed export
 * leaves nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gisa/snapshot.h>

#include "ctl.h"
#include "files.h"

/* ---- files -------------------------------------------------------------- */

/* An unlinked temporary file for spooling; 0 with *ret_fd, or an exit status. */
static int spool_file(struct gisactl *g, int *ret_fd)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX];
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	if ((size_t)snprintf(path, sizeof(path), "%s/gisactl.XXXXXX", dir) >= sizeof(path))
		return out_fail(g, -ENAMETOOLONG, "TMPDIR `%s' is too long", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return out_fail(g, -errno, "cannot create a temporary file in `%s': %s", dir,
				strerror(errno));
	unlink(path);
	*ret_fd = fd;
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fd from offset 0 to its end, at most cap bytes. */
static int read_back(struct gisactl *g, int fd, size_t cap, uint8_t **ret, size_t *ret_len)
{
	struct stat st;
	uint8_t *buf;
	size_t len = 0;

	if (fstat(fd, &st))
		return out_fail(g, -errno, "cannot read the temporary file: %s", strerror(errno));
	if ((uintmax_t)st.st_size > cap)
		return out_fail(g, -EFBIG, "gisad wrote %jd bytes, more than the %zu a snapshot "
				"file can be", (intmax_t)st.st_size, cap);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return out_fail(g, -ENOMEM, "out of memory");
	while (len < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + len, (size_t)st.st_size - len, (off_t)len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;

			free(buf);
			return out_fail(g, -e, "cannot read the temporary file: %s", strerror(e));
		}
		len += (size_t)n;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* Copy fd (from offset 0) to out_fd. */
static int copy_out(struct gisactl *g, int fd, int out_fd, const char *what)
{
	uint8_t buf[64 << 10];
	off_t off = 0;

	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return out_fail(g, -errno, "cannot read the temporary file: %s",
					strerror(errno));
		if (n == 0)
			return 0;
		r = write_all(out_fd, buf, (size_t)n);
		if (r)
			return out_fail(g, r, "cannot write %s: %s", what, strerror(-r));
		off += n;
	}
}

/* Spool an input that is not a regular file into an unlinked temporary. */
static int spool_in(struct gisactl *g, int in_fd, const char *path, int *ret_fd)
{
	uint8_t buf[64 << 10];
	size_t total = 0;
	int fd, r = spool_file(g, &fd);

	if (r)
		return r;
	for (;;) {
		ssize_t n = read(in_fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = out_fail(g, -errno, "cannot read `%s': %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (total > GISACTL_MAX_SNAPSHOT_FILE) {
			r = out_fail(g, -EFBIG, "`%s' is larger than %zu bytes, the most a "
				     "snapshot file can be", path,
				     (size_t)GISACTL_MAX_SNAPSHOT_FILE);
			break;
		}
		r = write_all(fd, buf, (size_t)n);
		if (r) {
			r = out_fail(g, r, "cannot spool `%s': %s", path, strerror(-r));
			break;
		}
	}
	if (!r && lseek(fd, 0, SEEK_SET) < 0)
		r = out_fail(g, -errno, "cannot rewind the temporary file: %s", strerror(errno));
	if (r) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* ---- snapshot export ---------------------------------------------------- */

static json_t *json_digest(const ProtobufCBinaryData *d)
{
	char hex[65];

	if (d->len != GISA_SNAP_DIGEST_SIZE)
		return json_null();
	gisa_snap_digest_hex(d->data, hex);
	return json_string(hex);
}

static void snapshot_result(struct gisactl *g, const Gisa__V1__SnapshotResult *s,
			    const char *vm, const char *file)
{
	char hex[65] = "(none)";

	if (g->json) {
		json_t *o = out_result(g);

		jset(o, "vm", json_text(s->vm && s->vm[0] ? s->vm : vm));
		if (file)
			jset(o, "file", json_text(file));
		jset(o, "tag", json_str_or_null(s->tag));
		jset(o, "bytes", json_integer((json_int_t)s->bytes));
		jset(o, "job", json_integer((json_int_t)s->job));
		jset(o, "digest", json_digest(&s->digest));
		return;
	}
	if (s->digest.len == GISA_SNAP_DIGEST_SIZE)
		gisa_snap_digest_hex(s->digest.data, hex);
	out_kv("vm", "%s", s->vm && s->vm[0] ? s->vm : vm);
	if (file)
		out_kv("file", "%s", file);
	if (s->tag && s->tag[0])
		out_kv("tag", "%s", s->tag);
	out_kv("bytes", "%" PRIu64, s->bytes);
	out_kv("job", "%" PRIu64, s->job);
	out_kv("digest", "%s", hex);
}

/* gisad writes VM vm's snapshot into fd (a regular file, at its offset). */
static int export_fd(struct gisactl *g, const char *vm, int fd, bool stored, int level,
		     ctl_response **ret)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__SnapshotExport e = GISA__V1__SNAPSHOT_EXPORT__INIT;
	int r;

	e.vm = (char *)vm;
	if (stored) {
		e.has_uncompressed = true;
		e.uncompressed = true;
	}
	if (level) {
		e.has_level = true;
		e.level = level;
	}
	req.verb_case = GISA__V1__REQUEST__VERB_SNAPSHOT_EXPORT;
	req.snapshot_export = &e;
	r = ctl_call(g, &req, fd, ret);
	if (!r)
		r = ctl_expect(g, *ret, GISA__V1__RESPONSE__RESULT_SNAPSHOT);
	return r;
}

int vm_snapshot(struct gisactl *g, const char *vm, uint8_t **ret, size_t *ret_len)
{
	ctl_response *resp = NULL;
	int fd, r = spool_file(g, &fd);

	if (r)
		return r;
	/* Stored: the copy is read back at once, compressing it gains nothing. */
	r = export_fd(g, vm, fd, true, 0, &resp);
	ctl_free(resp);
	if (!r)
		r = read_back(g, fd, GISACTL_MAX_SNAPSHOT_FILE, ret, ret_len);
	close(fd);
	return r;
}

/*
 * The local gisad dials uri (tls://HOST:PORT/NAME, checked by the caller)
 * and writes VM NAME's snapshot into the spool file passed with the
 * request: a fetch job, followed until it ends.
 */
int remote_snapshot(struct gisactl *g, const char *uri, uint8_t **ret, size_t *ret_len)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__RemoteFetch f = GISA__V1__REMOTE_FETCH__INIT;
	ctl_response *resp = NULL;
	int fd, r = spool_file(g, &fd);

	if (r)
		return r;
	f.uri = (char *)uri;
	req.verb_case = GISA__V1__REQUEST__VERB_REMOTE_FETCH;
	req.remote_fetch = &f;
	r = ctl_call(g, &req, fd, &resp);
	if (!r && resp->result_case == GISA__V1__RESPONSE__RESULT_JOB) {
		uint64_t id = resp->job->id;

		ctl_free(resp);
		resp = NULL;
		r = job_follow(g, id, &resp);
		if (!r && resp->job->type != GISA__V1__JOB_TYPE__JOB_TYPE_COMPLETED)
			r = out_fail(g, resp->job->error ? resp->job->error : -EIO,
				     "fetching %s: %s", uri,
				     resp->job->error_message ? resp->job->error_message :
				     "the fetch job failed");
	}
	ctl_free(resp);
	if (!r)
		r = read_back(g, fd, GISACTL_MAX_SNAPSHOT_FILE, ret, ret_len);
	close(fd);
	return r;
}

/* A temporary file beside path for an export that replaces it when done. */
static int temp_beside(struct gisactl *g, const char *path, char *tmp, size_t size, int *ret_fd)
{
	const char *slash = strrchr(path, '/');
	int n, fd;

	if (slash)
		n = snprintf(tmp, size, "%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1);
	else
		n = snprintf(tmp, size, ".%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= size)
		return out_fail(g, -ENAMETOOLONG, "output path `%s' is too long", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return out_fail(g, -errno, "cannot create a file beside `%s': %s", path,
				strerror(errno));
	*ret_fd = fd;
	return 0;
}

int cmd_snapshot_export(struct gisactl *g, const struct cmd_args *a)
{
	const char *vm = a->argv[0], *path = a->argv[1];
	char tmp[PATH_MAX], target[PATH_MAX];
	struct gisa_snap_opts opts;
	ctl_response *resp = NULL;
	bool to_stdout = is_stdio(path), in_place = false, named;
	struct stat st;
	int fd = -1, out_fd = -1, r;

	r = parse_snap_opts(g, a, &opts);
	if (!r)
		r = binary_output_ok(g, path);
	if (!r && to_stdout && isatty(STDOUT_FILENO))
		r = out_usage(g, "refusing to write a snapshot to a terminal: name a FILE");
	if (r)
		return r;
	/* Devices and FIFOs are written in place, through a spool. */
	if (!to_stdout && !stat(path, &st) && !S_ISREG(st.st_mode)) {
		out_fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (out_fd < 0)
			return out_fail(g, -errno, "cannot open `%s': %s", path, strerror(errno));
		in_place = true;
	}
	named = !to_stdout && !in_place;
	if (named) {
		/* A symbolic link keeps pointing at the file it names, which is replaced. */
		r = output_target(path, target, sizeof(target));
		if (r)
			return out_fail(g, r, "cannot open `%s': %s", path, strerror(-r));
		path = target;
		r = temp_beside(g, path, tmp, sizeof(tmp), &fd);
	} else {
		r = spool_file(g, &fd);
	}
	if (!r)
		r = export_fd(g, vm, fd, !opts.compress, opts.compress ? opts.level : 0, &resp);
	if (!r && !named)
		r = copy_out(g, fd, to_stdout ? STDOUT_FILENO : out_fd,
			     to_stdout ? "to standard output" : path);
	if (!r && named) {
		if (fchmod(fd, output_mode(path)) || fsync(fd) || rename(tmp, path))
			r = out_fail(g, -errno, "cannot write `%s': %s", path, strerror(errno));
	}
	if (r && named && fd >= 0)
		unlink(tmp);
	if (fd >= 0)
		close(fd);
	if (out_fd >= 0 && close(out_fd) && !r)
		r = out_fail(g, -errno, "cannot write `%s': %s", a->argv[1], strerror(errno));
	/* The snapshot itself went to standard output: no summary there. */
	if (!r && (!to_stdout || g->json))
		snapshot_result(g, resp->snapshot, vm, a->argv[1]);
	ctl_free(resp);
	return r;
}

/* ---- snapshot import ---------------------------------------------------- */

int cmd_snapshot_import(struct gisactl *g, const struct cmd_args *a)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__SnapshotImport im = GISA__V1__SNAPSHOT_IMPORT__INIT;
	const char *vm = a->argv[0], *path = a->argv[1];
	ctl_response *resp = NULL;
	struct stat st;
	int fd, r = 0;

	if (is_stdio(path)) {
		r = spool_in(g, STDIN_FILENO, "-", &fd);
	} else {
		int in = open(path, O_RDONLY | O_CLOEXEC);

		if (in < 0)
			return out_fail(g, -errno, "cannot open `%s': %s", path, strerror(errno));
		if (fstat(in, &st)) {
			r = out_fail(g, -errno, "cannot read `%s': %s", path, strerror(errno));
			close(in);
			return r;
		}
		if (S_ISDIR(st.st_mode)) {
			close(in);
			return out_fail(g, -EISDIR, "`%s' is a directory, not a snapshot file",
					path);
		}
		if (S_ISREG(st.st_mode)) {
			fd = in;
		} else {
			r = spool_in(g, in, path, &fd);
			close(in);
		}
	}
	if (r)
		return r;
	im.vm = (char *)vm;
	if (a->opt[OPT_REPLACE]) {
		im.has_replace = true;
		im.replace = true;
	}
	req.verb_case = GISA__V1__REQUEST__VERB_SNAPSHOT_IMPORT;
	req.snapshot_import = &im;
	r = ctl_call(g, &req, fd, &resp);
	close(fd);
	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_SNAPSHOT);
	if (!r)
		snapshot_result(g, resp->snapshot, vm, path);
	ctl_free(resp);
	return r;
}

/* ---- checkpoints -------------------------------------------------------- */

static int checkpoint_call(struct gisactl *g, const struct cmd_args *a,
			   Gisa__V1__Request__VerbCase verb, ctl_response **ret)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__CheckpointRef c = GISA__V1__CHECKPOINT_REF__INIT;

	c.vm = a->argv[0];
	c.tag = a->argc > 1 ? a->argv[1] : NULL;
	req.verb_case = verb;
	req.checkpoint_create = &c;  /* every CheckpointRef verb shares the oneof's slot */
	return ctl_call(g, &req, -1, ret);
}

static int checkpoint_move(struct gisactl *g, const struct cmd_args *a,
			   Gisa__V1__Request__VerbCase verb)
{
	ctl_response *resp;
	int r = checkpoint_call(g, a, verb, &resp);

	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_SNAPSHOT);
	if (!r)
		snapshot_result(g, resp->snapshot, a->argv[0], NULL);
	ctl_free(resp);
	return r;
}

int cmd_checkpoint_create(struct gisactl *g, const struct cmd_args *a)
{
	return checkpoint_move(g, a, GISA__V1__REQUEST__VERB_CHECKPOINT_CREATE);
}

int cmd_checkpoint_restore(struct gisactl *g, const struct cmd_args *a)
{
	return checkpoint_move(g, a, GISA__V1__REQUEST__VERB_CHECKPOINT_RESTORE);
}

int cmd_checkpoint_delete(struct gisactl *g, const struct cmd_args *a)
{
	ctl_response *resp;
	int r = checkpoint_call(g, a, GISA__V1__REQUEST__VERB_CHECKPOINT_DELETE, &resp);

	if (!r && g->json) {
		jset(out_result(g), "vm", json_text(a->argv[0]));
		jset(out_result(g), "tag", json_str_or_null(a->argc > 1 ? a->argv[1] : NULL));
	}
	ctl_free(resp);
	return r;
}

/* One checkpoint of checkpoint list: a row, or an object appended to list. */
static void checkpoint_row(struct gisactl *g, const Gisa__V1__CheckpointEntry *e, json_t **list)
{
	char when[48] = "(unknown)", hex[65] = "(unreadable)";
	json_t *o;

	if (e->has_created_unix_ns)
		fmt_time(e->created_unix_ns, when, sizeof(when));
	if (!g->json) {
		if (e->digest.len == GISA_SNAP_DIGEST_SIZE)
			gisa_snap_digest_hex(e->digest.data, hex);
		printf("%-24s %10" PRIu64 "  %-30s  %s\n",
		       e->tag && e->tag[0] ? e->tag : "(current)", e->size, when, hex);
		return;
	}
	o = json_object();
	jset(o, "tag", json_str_or_null(e->tag));
	jset(o, "bytes", json_integer((json_int_t)e->size));
	if (e->has_mtime_unix_ns) {
		char mt[48];

		fmt_time(e->mtime_unix_ns, mt, sizeof(mt));
		jset(o, "mtime", json_string(mt));
	} else {
		jset(o, "mtime", json_null());
	}
	jset(o, "created", e->has_created_unix_ns ? json_string(when) : json_null());
	jset(o, "digest", json_digest(&e->digest));
	if (!*list || !o || json_array_append_new(*list, o))
		*list = NULL;
}

int cmd_checkpoint_list(struct gisactl *g, const struct cmd_args *a)
{
	struct ctl_pager pg = { .verb = GISA__V1__REQUEST__VERB_CHECKPOINT_LIST,
				.vm = a->argv[0] };
	json_t *list = g->json ? json_array() : NULL;
	size_t shown = 0;
	ctl_response *resp;
	int r;

	while (!(r = ctl_pager_next(g, &pg, &resp)) && resp) {
		const Gisa__V1__CheckpointList *l = resp->checkpoints;

		if (!g->json && l->n_entries && !shown)
			printf("%-24s %10s  %-30s  %s\n", "TAG", "BYTES", "CREATED", "DIGEST");
		for (size_t i = 0; i < l->n_entries; i++)
			checkpoint_row(g, l->entries[i], &list);
		shown += l->n_entries;
		ctl_free(resp);
	}
	if (r) {
		json_decref(list);
		return r;
	}
	if (g->json) {
		jset(out_result(g), "vm", json_text(a->argv[0]));
		jset(out_result(g), "checkpoints", list);
	} else if (!shown) {
		printf("no checkpoints of VM `%s'\n", a->argv[0]);
	}
	return 0;
}

/* ---- jobs --------------------------------------------------------------- */

static int job_ref(struct gisactl *g, const char *id_text, Gisa__V1__Request__VerbCase verb,
		   ctl_response **ret)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__JobRef j = GISA__V1__JOB_REF__INIT;

	*ret = NULL;
	j.has_id = true;
	if (id_text && arg_u64(g, "ID", id_text, UINT64_MAX, &j.id))
		return GISACTL_EXIT_ERROR;
	if (id_text && !j.id)
		return out_usage(g, "ID names a job: 1 or more, not `%s'", id_text);
	req.verb_case = verb;
	req.job_status = &j;    /* every JobRef verb shares the oneof's slot */
	return ctl_call(g, &req, -1, ret);
}

int job_get(struct gisactl *g, uint64_t id, ctl_response **ret)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__JobRef j = GISA__V1__JOB_REF__INIT;
	int r;

	j.has_id = true;
	j.id = id;
	req.verb_case = GISA__V1__REQUEST__VERB_JOB_STATUS;
	req.job_status = &j;
	r = ctl_call(g, &req, -1, ret);
	if (!r)
		r = ctl_expect(g, *ret, GISA__V1__RESPONSE__RESULT_JOB);
	if (r) {
		ctl_free(*ret);
		*ret = NULL;
	}
	return r;
}

void show_job(struct gisactl *g, const Gisa__V1__JobInfo *job)
{
	json_t *j;

	if (!g->json) {
		print_job(job);
		return;
	}
	j = json_job(job);
	if (!j || json_object_update(out_result(g), j))
		jset(out_result(g), "job", NULL);
	json_decref(j);
}

/* One job of job list: a row (and its migration's line), or an object appended to list. */
static void job_row(struct gisactl *g, const Gisa__V1__JobInfo *j, json_t **list)
{
	if (g->json) {
		if (*list && json_array_append_new(*list, json_job(j)))
			*list = NULL;
		return;
	}
	printf("%-6" PRIu64 " %-11s %-10s %-20s %-16s %12" PRIu64 "  %s\n", j->id,
	       job_op_name(j->operation), job_type_name(j->type), j->vm ? j->vm : "",
	       j->tag && j->tag[0] ? j->tag : "-", j->data_total,
	       j->error ? errno_code(j->error) : "-");
	if (j->migration) {
		char brief[512];

		fmt_migration_brief(j->migration, brief, sizeof(brief));
		printf("%-6s migration: %s\n", "", brief);
	}
}

int cmd_job_list(struct gisactl *g, const struct cmd_args *a)
{
	struct ctl_pager pg = { .verb = GISA__V1__REQUEST__VERB_JOB_LIST };
	json_t *list = g->json ? json_array() : NULL;
	bool header = false;
	ctl_response *resp;
	int r;

	while (!(r = ctl_pager_next(g, &pg, &resp)) && resp) {
		const Gisa__V1__JobList *l = resp->jobs;

		if (!g->json && l->n_jobs && !header) {
			printf("%-6s %-11s %-10s %-20s %-16s %12s  %s\n", "ID", "OPERATION", "TYPE",
			       "VM", "TAG", "BYTES", "ERROR");
			header = true;
		}
		for (size_t i = 0; i < l->n_jobs; i++)
			job_row(g, l->jobs[i], &list);
		ctl_free(resp);
	}
	if (!r && g->json)
		jset(out_result(g), "jobs", list);
	else
		json_decref(list);
	(void)a;
	return r;
}

int cmd_job_status(struct gisactl *g, const struct cmd_args *a)
{
	ctl_response *resp;
	int r = job_ref(g, a->argv[0], GISA__V1__REQUEST__VERB_JOB_STATUS, &resp);

	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_JOB);
	if (!r)
		show_job(g, resp->job);
	ctl_free(resp);
	return r;
}

/* An operator's decision on an in-doubt migrate-out job. */
int cmd_job_resolve(struct gisactl *g, const struct cmd_args *a)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__JobResolve jr = GISA__V1__JOB_RESOLVE__INIT;
	const char *id = a->argv[0], *outcome = a->argv[1];
	ctl_response *resp = NULL;
	int r;

	if (arg_u64(g, "ID", id, UINT64_MAX, &jr.id))
		return GISACTL_EXIT_ERROR;
	if (!jr.id)
		return out_usage(g, "ID names a job: 1 or more, not `%s'", id);
	if (strcmp(outcome, "committed") && strcmp(outcome, "resumed"))
		return out_usage(g, "the outcome is committed (the VM is active at the "
				 "destination) or resumed (it is not), not `%s'", outcome);
	jr.has_id = true;
	jr.has_committed = true;
	jr.committed = !strcmp(outcome, "committed");
	req.verb_case = GISA__V1__REQUEST__VERB_JOB_RESOLVE;
	req.job_resolve = &jr;
	r = ctl_call(g, &req, -1, &resp);
	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_JOB);
	if (!r)
		show_job(g, resp->job);
	ctl_free(resp);
	return r;
}

int cmd_job_abort(struct gisactl *g, const struct cmd_args *a)
{
	ctl_response *resp;
	int r = job_ref(g, a->argv[0], GISA__V1__REQUEST__VERB_JOB_ABORT, &resp);
	uint64_t id;

	/* job_ref took the ID: it reads the same here. */
	if (!r && g->json && !parse_number(a->argv[0], &id))
		jset(out_result(g), "id", json_integer((json_int_t)id));
	ctl_free(resp);
	return r;
}

int cmd_job_clear(struct gisactl *g, const struct cmd_args *a)
{
	ctl_response *resp;
	int r = job_ref(g, a->argc ? a->argv[0] : NULL, GISA__V1__REQUEST__VERB_JOB_CLEAR, &resp);

	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_RET);
	if (!r && g->json)
		jset(out_result(g), "cleared", json_integer(resp->ret->ret));
	else if (!r)
		printf("%d job%s cleared\n", resp->ret->ret, resp->ret->ret == 1 ? "" : "s");
	ctl_free(resp);
	return r;
}
