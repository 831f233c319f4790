/* Reading and creating the secret file (the identity module's I/O). */
#include "shoal/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SECRET_FILE (64 * 1024)

int shoal_identity_load(const char *path, shoal_keypair *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return SHOAL_E_IDENTITY_IO;
    char *text = shoal_malloc(MAX_SECRET_FILE);
    ssize_t len = text ? read(fd, text, MAX_SECRET_FILE) : -1;
    int saved = errno;
    close(fd);
    int rc;
    if (!text)
        rc = SHOAL_E_NOMEM;
    else if (len < 0)
        rc = SHOAL_E_IDENTITY_IO;
    else if (len == MAX_SECRET_FILE)
        rc = SHOAL_E_IDENTITY_FORMAT;
    else
        rc = shoal_identity_parse(text, (size_t)len, out);
    if (text)
        sodium_memzero(text, MAX_SECRET_FILE);
    shoal_free(text);
    errno = saved;
    return rc;
}

int shoal_identity_load_or_create(const char *path, shoal_keypair *out, bool *created)
{
    *created = false;
    int rc = shoal_identity_load(path, out);
    if (rc != SHOAL_E_IDENTITY_IO || errno != ENOENT)
        return rc;
    shoal_keypair keys;
    shoal_keypair_generate(&keys);
    shoal_buf text = SHOAL_BUF_INIT;
    shoal_identity_format(&keys, &text);
    rc = shoal_buf_status(&text);
    if (rc == SHOAL_OK) {
        /* O_EXCL: if another process created the file meanwhile, theirs wins and is read */
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST) {
            rc = shoal_identity_load(path, out);
        } else if (fd < 0) {
            rc = SHOAL_E_IDENTITY_IO;
        } else {
            bool ok = write(fd, text.data, text.len) == (ssize_t)text.len && fsync(fd) == 0;
            ok = close(fd) == 0 && ok;
            if (ok) {
                *out = keys;
                *created = true;
            } else {
                int saved = errno;
                unlink(path);
                errno = saved;
                rc = SHOAL_E_IDENTITY_IO;
            }
        }
    }
    if (text.data)
        sodium_memzero(text.data, text.len);
    shoal_buf_free(&text);
    sodium_memzero(&keys, sizeof keys);
    return rc;
}
