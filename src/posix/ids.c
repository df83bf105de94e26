/* user=, group=, extra_groups=: names looked up in the user database, or
 * plain decimal ids, range-checked before anything is cast. */
#include "subproc_config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "spawn.h"

/* ids above this are not ids: (uid_t)-1 means "unchanged" to setreuid,
 * so 4294967295 would silently drop nothing. */
#define MAX_ID 4294967294ULL
/* The user database's answer may be large (LDAP groups): the buffer grows
 * up to this. */
#define MAX_DB_BUFFER (16u << 20)

/* 1: a plain decimal in range (*out set); 0: a name; <0: a number that is
 * not one (sign, space, too large), SUBPROC_EINVAL with err filled. */
static int parse_id(const char *s, const char *what, unsigned long long *out,
                    subproc_error *err) {
  size_t digits = strspn(s, "0123456789");
  if (*s && !s[digits]) {
    unsigned long long v = 0;
    for (const char *c = s; *c && v <= MAX_ID; c++)
      v = v * 10 + (unsigned long long)(*c - '0');
    if (v > MAX_ID)
      return subproc__fail(err, SUBPROC_EINVAL, 0, what, s, -1,
                           "%s '%s': id out of range [0, %llu]", what, s,
                           MAX_ID);
    *out = v;
    return 1;
  }
  if (!*s || strchr("+- \t\n\v\f\r", *s))
    return subproc__fail(err, SUBPROC_EINVAL, 0, what, s, -1,
                         "%s '%s': not a name or a decimal id", what, s);
  return 0;
}

/* Runs lookup with a buffer that grows on ERANGE. */
typedef int (*lookup_fn)(const char *name, void *entry, char *buf, size_t size,
                         void **found);

static int lookup_pw(const char *name, void *entry, char *buf, size_t size,
                     void **found) {
  struct passwd *res = NULL;
  int rc = getpwnam_r(name, entry, buf, size, &res);
  *found = res;
  return rc;
}

static int lookup_gr(const char *name, void *entry, char *buf, size_t size,
                     void **found) {
  struct group *res = NULL;
  int rc = getgrnam_r(name, entry, buf, size, &res);
  *found = res;
  return rc;
}

/* The codes POSIX allows for "not found". */
static int not_found(int rc) {
  return rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM;
}

static int lookup(lookup_fn fn, const char *name, void *entry, const char *what,
                  const char *kind, subproc_error *err) {
  size_t size = subproc__test_flags() & SUBPROC__TINY_DB_BUFFER ? 16 : 4096;
  for (;;) {
    char *buf = malloc(size);
    if (!buf)
      return subproc__fail_os(err, ENOMEM, what, name, -1);
    void *found = NULL;
    int rc = fn(name, entry, buf, size, &found);
    free(buf); /* the ids are copied out below; the strings are not used */
    if (found)
      return 0;
    if (rc == ERANGE && size < MAX_DB_BUFFER) {
      size *= 2;
      continue;
    }
    if (not_found(rc))
      return subproc__fail(err, SUBPROC_EINVAL, 0, what, name, -1,
                           "%s '%s': no such %s", what, name, kind);
    return subproc__fail(err, -rc, rc, what, name, -1, "%s '%s': %s", what,
                         name, strerror(rc));
  }
}

int subproc__resolve_uid(const char *user, uid_t *uid, subproc_error *err) {
  unsigned long long v = 0; /* set when parse_id returns 1 */
  int rc = parse_id(user, "user", &v, err);
  if (rc == 1 && (uid_t)v != v)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "user", user, -1,
                         "user '%s': id out of range", user);
  if (rc == 1)
    *uid = (uid_t)v;
  if (rc != 0)
    return rc < 0 ? rc : 0;
  struct passwd pw;
  if ((rc = lookup(lookup_pw, user, &pw, "user", "user", err)) < 0)
    return rc;
  *uid = pw.pw_uid;
  return 0;
}

int subproc__resolve_gid(const char *group, const char *what, gid_t *gid,
                         subproc_error *err) {
  unsigned long long v = 0; /* set when parse_id returns 1 */
  int rc = parse_id(group, what, &v, err);
  if (rc == 1 && (gid_t)v != v)
    return subproc__fail(err, SUBPROC_EINVAL, 0, what, group, -1,
                         "%s '%s': id out of range", what, group);
  if (rc == 1)
    *gid = (gid_t)v;
  if (rc != 0)
    return rc < 0 ? rc : 0;
  struct group gr;
  if ((rc = lookup(lookup_gr, group, &gr, what, "group", err)) < 0)
    return rc;
  *gid = gr.gr_gid;
  return 0;
}
