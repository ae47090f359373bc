/* src/core/atomic.c - see atomic.h. */
#include "core/atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/mem.h"

static void fsync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    (void)fsync(fd);
    close(fd);
}

int ckpt__atomic_write(const char *path, ckpt__write_fn fn, const void *ctx,
                       const ckpt_alloc *alloc, bool no_fsync, ckpt_error *err)
{
    size_t plen = strlen(path);
    char *tmp = ckpt__alloc(alloc, plen + 16);
    if (!tmp)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    snprintf(tmp, plen + 16, "%s.tmp-XXXXXX", path);
    int rc = 0, fd = mkstemp(tmp);
    if (fd < 0) {
        rc = CKPT_FAIL(err, CKPT_E_IO, "cannot create temporary file %s: %s", tmp,
                       strerror(errno));
        ckpt__free(alloc, tmp, plen + 16);
        return rc;
    }
    struct stat st;
    mode_t mode = (stat(path, &st) == 0) ? (st.st_mode & 07777) : 0644;
    if (fchmod(fd, mode) != 0)
        rc = CKPT_FAIL(err, CKPT_E_IO, "cannot set mode of %s: %s", tmp, strerror(errno));
    ckpt_sink *sink = rc == 0 ? ckpt_sink_new_fd(fd, tmp, alloc, err) : NULL;
    if (rc == 0 && !sink)
        rc = err->code ? err->code : CKPT_E_NOMEM;
    if (rc == 0)
        rc = fn(sink, ctx, err);
    if (rc == 0)
        rc = ckpt_sink_flush(sink, err);
    ckpt_sink_free(sink);
    if (rc == 0 && !no_fsync && fsync(fd) != 0)
        rc = CKPT_FAIL(err, CKPT_E_IO, "fsync of %s failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == 0)
        rc = CKPT_FAIL(err, CKPT_E_IO, "close of %s failed: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = CKPT_FAIL(err, CKPT_E_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc == 0) {
        if (!no_fsync)
            fsync_dir(path);
    } else {
        unlink(tmp);
    }
    ckpt__free(alloc, tmp, plen + 16);
    return rc;
}

int ckpt__mkdir_parents(const char *path, ckpt_error *err)
{
    size_t n = path ? strlen(path) : 0;
    while (n > 1 && path[n - 1] == '/') /* "a/b/" names the folder a/b */
        n--;
    while (n > 0 && path[n - 1] != '/') /* drop the last component */
        n--;
    if (n <= 1)
        return 0; /* "name" or "/name": nothing above to make */
    char *p = malloc(n + 1);
    if (!p)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    memcpy(p, path, n);
    p[n] = 0;
    int rc = 0;
    /* each prefix ending before a '/', shortest first; existing ones are skipped */
    for (size_t i = 1; i <= n && rc == 0; i++) {
        if (p[i] != '/' && p[i] != 0)
            continue;
        char c = p[i];
        p[i] = 0;
        struct stat st;
        if (stat(p, &st) != 0) {
            if (mkdir(p, 0777) != 0 && errno != EEXIST)
                rc = CKPT_FAIL(err, CKPT_E_IO, "cannot create the folder %s: %s", p,
                               strerror(errno));
        } else if (!S_ISDIR(st.st_mode)) {
            rc = CKPT_FAIL(err, CKPT_E_IO, "%s is not a folder", p);
        }
        p[i] = c;
    }
    free(p);
    return rc;
}
