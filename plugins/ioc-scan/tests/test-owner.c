/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * FileItem/Username on a device with a root folder: owners are named by
 * the root's own etc/passwd when it has one (a uid means what that system
 * says), parsed defensively; a passwd that is a link out of the root is
 * refused, and a root without one falls back to the host's user database.
 */
#include "ioc-test-util.h"

#include <glib/gstdio.h>
#include <pwd.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  char *root;
  char *outside;
} Lab;

static void
lab_setup (Lab *lab, gconstpointer data)
{
  lab->root = g_dir_make_tmp ("ioc-owner-XXXXXX", NULL);
  lab->outside = g_dir_make_tmp ("ioc-owner-out-XXXXXX", NULL);
  g_free (plant (lab->root, "home/bob/evil.exe", "0123456789", 10));
}

static void
lab_teardown (Lab *lab, gconstpointer data)
{
  vt_rm_rf (lab->root);
  vt_rm_rf (lab->outside);
  g_free (lab->root);
  g_free (lab->outside);
}

/* The host's name for our uid (the files' owner), or the number. */
static char *
host_name_of_me (void)
{
  struct passwd *pw = getpwuid (getuid ());
  return pw != NULL ? g_strdup (pw->pw_name) : g_strdup_printf ("%u", (guint) getuid ());
}

/* A passwd naming our uid @name (tests may run as root: no other entry
 * has our uid). */
static char *
passwd_for_me (const char *name)
{
  return g_strdup_printf ("other:x:%u:1::/:/bin/sh\n%s:x:%u:%u::/home/x:/bin/sh\n",
                          (guint) getuid () + 1, name, (guint) getuid (), (guint) getgid ());
}

/* Scans the lab for evil.exe owned by @user: the owner of the match, or
 * NULL when nothing matched. */
static char *
owner_found (Lab *lab, const char *user)
{
  g_autofree char *body = indicator ("AND", item11 ("FileItem/FileName", "is", "string", "evil.exe", NULL),
                                     item11 ("FileItem/Username", "is", "string", user, NULL), NULL);
  g_autofree char *x = ioc11 ("owner", body);
  g_autoptr (IocCollection) coll = collection_of (x);
  IocScope scope = { IOC_SCOPE_CUSTOM, g_ptr_array_new (), g_ptr_array_new () };
  IocScanOptions opt = { 0 };
  g_autoptr (IocScanResult) r = NULL;
  IocDocResult *dr;

  g_ptr_array_add (scope.paths, (char *) "/home");
  opt.root = lab->root;
  opt.scope = &scope;
  r = ioc_scan_run (coll, &opt, NULL);
  g_ptr_array_unref (scope.paths);
  g_ptr_array_unref (scope.exclusions);
  g_assert_nonnull (r);
  dr = r->docs->pdata[0];
  return dr->matches->len > 0 ? g_strdup (((IocMatch *) dr->matches->pdata[0])->owner) : NULL;
}

static void
test_passwd_parsed_defensively (void)
{
  g_autofree char *long_name = g_strnfill (300, 'a');
  g_autofree char *text = g_strdup_printf (
    "# comment:x:1:1\n"
    "+nis:x:2:2::/:/bin/sh\n"
    "short:x\n"
    "baduid:x:12a:1::/:/bin/sh\n"
    "negative:x:-1:1::/:/bin/sh\n"
    "toobig:x:4294967295:1::/:/bin/sh\n"
    ":x:5:5::/:/bin/sh\n"
    "ctl\001name:x:6:6::/:/bin/sh\n"
    "%s:x:7:7::/:/bin/sh\n"
    "\n"
    "alice:x:1000:1000:Alice:/home/alice:/bin/sh\r\n"
    "alias:x:1000:1000::/home/alice:/bin/sh\n"
    "bob:x:1001:1001\n"
    "carol:x:1002", long_name);
  g_autoptr (GHashTable) users = vigil_users_parse (text, strlen (text));

  g_assert_cmpuint (g_hash_table_size (users), ==, 3);
  /* The first entry of a uid wins, as getpwuid finds it. */
  g_assert_cmpstr (g_hash_table_lookup (users, GUINT_TO_POINTER (1000)), ==, "alice");
  g_assert_cmpstr (g_hash_table_lookup (users, GUINT_TO_POINTER (1001)), ==, "bob");
  /* The last line has no newline; it still counts. */
  g_assert_cmpstr (g_hash_table_lookup (users, GUINT_TO_POINTER (1002)), ==, "carol");
}

static void
test_device_passwd_names_owner (Lab *lab, gconstpointer data)
{
  g_autofree char *passwd = passwd_for_me ("device-user");
  g_autofree char *host_name = host_name_of_me ();
  g_autofree char *owner = NULL, *as_host = NULL;

  g_free (plant (lab->root, "etc/passwd", passwd, strlen (passwd)));
  owner = owner_found (lab, "device-user");
  g_assert_cmpstr (owner, ==, "device-user");
  /* The host's name for the uid is not the device's. */
  as_host = owner_found (lab, host_name);
  g_assert_null (as_host);
}

/* The card names the owner from the device's passwd even when no item of
 * the collection asks for owners. */
static void
test_card_owner_without_username_item (Lab *lab, gconstpointer data)
{
  g_autofree char *passwd = passwd_for_me ("card-user");
  g_autofree char *body = indicator ("OR", item11 ("FileItem/FileName", "is", "string", "evil.exe", NULL), NULL);
  g_autofree char *x = ioc11 ("card", body);
  g_autoptr (IocCollection) coll = collection_of (x);
  IocScope scope = { IOC_SCOPE_CUSTOM, g_ptr_array_new (), g_ptr_array_new () };
  IocScanOptions opt = { 0 };
  g_autoptr (IocScanResult) r = NULL;
  IocDocResult *dr;

  g_free (plant (lab->root, "etc/passwd", passwd, strlen (passwd)));
  g_ptr_array_add (scope.paths, (char *) "/home");
  opt.root = lab->root;
  opt.scope = &scope;
  r = ioc_scan_run (coll, &opt, NULL);
  g_ptr_array_unref (scope.paths);
  g_ptr_array_unref (scope.exclusions);
  dr = r->docs->pdata[0];
  g_assert_cmpuint (dr->matches->len, ==, 1);
  g_assert_cmpstr (((IocMatch *) dr->matches->pdata[0])->owner, ==, "card-user");
}

static void
test_device_uid_not_listed_is_a_number (Lab *lab, gconstpointer data)
{
  const char *passwd = "nobody-else:x:4000000000:1::/:/bin/sh\n";
  g_autofree char *uid = g_strdup_printf ("%u", (guint) getuid ());
  g_autofree char *owner = NULL;

  g_free (plant (lab->root, "etc/passwd", passwd, strlen (passwd)));
  owner = owner_found (lab, uid);
  g_assert_cmpstr (owner, ==, uid);
}

static void
test_passwd_link_out_of_root_refused (Lab *lab, gconstpointer data)
{
  g_autofree char *passwd = passwd_for_me ("outsider");
  g_autofree char *target = plant (lab->outside, "passwd", passwd, strlen (passwd));
  g_autofree char *etc = g_build_filename (lab->root, "etc", NULL);
  g_autofree char *link = g_build_filename (etc, "passwd", NULL);
  g_autofree char *host_name = host_name_of_me ();
  g_autofree char *outsider = NULL, *owner = NULL;

  g_assert_cmpint (g_mkdir_with_parents (etc, 0755), ==, 0);
  g_assert_cmpint (symlink (target, link), ==, 0);
  outsider = owner_found (lab, "outsider");
  g_assert_null (outsider);
  owner = owner_found (lab, host_name);
  g_assert_cmpstr (owner, ==, host_name);
}

/* A FIFO in place of etc/passwd must neither block the scan nor count. */
static void
test_passwd_fifo_not_read (Lab *lab, gconstpointer data)
{
  g_autofree char *etc = g_build_filename (lab->root, "etc", NULL);
  g_autofree char *fifo = g_build_filename (etc, "passwd", NULL);
  g_autofree char *host_name = host_name_of_me ();
  g_autofree char *owner = NULL;

  g_assert_cmpint (g_mkdir_with_parents (etc, 0755), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  owner = owner_found (lab, host_name);
  g_assert_cmpstr (owner, ==, host_name);
}

static void
test_no_device_passwd_uses_host (Lab *lab, gconstpointer data)
{
  g_autofree char *host_name = host_name_of_me ();
  g_autofree char *owner = owner_found (lab, host_name);

  g_assert_cmpstr (owner, ==, host_name);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ioc/owner/passwd-parsed-defensively", test_passwd_parsed_defensively);
#define ADD(path, fn) g_test_add (path, Lab, NULL, lab_setup, fn, lab_teardown)
  ADD ("/ioc/owner/device-passwd-names-owner", test_device_passwd_names_owner);
  ADD ("/ioc/owner/card-owner-without-username-item", test_card_owner_without_username_item);
  ADD ("/ioc/owner/device-uid-not-listed-is-a-number", test_device_uid_not_listed_is_a_number);
  ADD ("/ioc/owner/passwd-link-out-of-root-refused", test_passwd_link_out_of_root_refused);
  ADD ("/ioc/owner/passwd-fifo-not-read", test_passwd_fifo_not_read);
  ADD ("/ioc/owner/no-device-passwd-uses-host", test_no_device_passwd_uses_host);
  return g_test_run ();
}
