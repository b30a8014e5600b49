/* store/admin.h: operator commands (sfu backup, sfu admin) on a node's
 * database through a connection of their own; safe while the node runs. */
#ifndef SFU_STORE_ADMIN_H
#define SFU_STORE_ADMIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    STORE_ADMIN_USERS,
    STORE_ADMIN_REPORTS,
    STORE_ADMIN_INVITES,
} store_admin_list_t;

/* A consistent copy of db_path at dest_path (SQLite's online backup, in
 * steps, so a running node keeps writing). 0, or -EIO with err filled. */
int store_admin_backup(const char *db_path, const char *dest_path, char *err, size_t err_cap);
/* Users or reports, one tab-separated line each after a header line. */
int store_admin_list(const char *db_path, store_admin_list_t what, FILE *out, char *err,
                     size_t err_cap);
/* Deletes a user (with everything of theirs) or a report (resolved). 0,
 * -ENOENT or -EIO, with err filled. */
int store_admin_delete(const char *db_path, store_admin_list_t what, int64_t id, char *err,
                       size_t err_cap);

/* Sets the registration mode ("open", "closed", "invite") when mode is not
 * NULL, then prints the current one. 0, -EINVAL (unknown mode) or -EIO. */
int store_admin_registration(const char *db_path, const char *mode, FILE *out, char *err,
                             size_t err_cap);
/* Makes n new invite codes and prints them, one a line. */
int store_admin_invites_create(const char *db_path, int n, FILE *out, char *err, size_t err_cap);

#endif
